/**
 * What a processor is: `async (request, ctx) => result`. The result is any JSON value; a
 * processor that forwards to HTTP returns a `ProcessorResponse` to also report the upstream
 * status code and headers. Throwing means the attempt failed: it is retried with backoff
 * unless the error says it is permanent (`PermanentError`, an error named UnrecoverableError,
 * or any error with `retryable: false`).
 *
 * @module
 */
import type { RawBody } from '../core/errors.js';
import type { Envelope } from '../core/request/envelope.js';
import type { Logger } from '../ports/logger.js';

export type ProcessorRequest = Envelope;

export interface ProcessorContext {
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** The correlation id: pass it to upstreams as an idempotency key. */
  readonly idempotencyKey: string;
  /** Aborted at the request's deadline and when the worker must give the request back. */
  readonly signal: AbortSignal;
  /** Absolute deadline (epoch ms), or null. */
  readonly deadline: number | null;
  readonly logger: Logger;
  /** The tenant that submitted the request (auth.enabled); null without authentication. */
  readonly tenant: string | null;
  /**
   * The W3C trace context of this attempt: send it as the `traceparent` header of the calls the
   * processor makes, and they join the request's trace. With tracing off, the client's own
   * traceparent (or null).
   */
  readonly traceparent: string | null;
  /** Reports progress (0–100), shown by GET /api/v1/status. */
  progress(percent: number): Promise<void>;
}

export type Processor = (request: ProcessorRequest, ctx: ProcessorContext) => Promise<unknown>;

/** A result together with the HTTP status, headers and raw body of the upstream that produced it. */
export class ProcessorResponse {
  constructor(
    readonly result: unknown,
    readonly statusCode: number | null,
    readonly headers: Readonly<Record<string, string>> | null,
    readonly body: RawBody | null = null,
  ) {}
}

/** Throw this (or any error with `retryable = false`) to fail a request without retrying it. */
export class PermanentError extends Error {
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

/** Whether trying the same request again could succeed. */
export function isRetryable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return true;
  const flagged = (error as { retryable?: unknown }).retryable;
  if (typeof flagged === 'boolean') return flagged;
  return (error as { name?: unknown }).name !== 'UnrecoverableError';
}

/**
 * What to do with an attempt once its processor has returned or thrown: complete, retry
 * after a backoff, defer without counting the attempt, hand it back (shutdown), time out, or
 * fail for good. Pure: the attempt applies the decision to the store and the queue.
 *
 * @module
 */
import { coerceError, DeferralError, HqmError, isHqmError, UpstreamStatusError, type ErrorCode, type UpstreamAnswer } from '../core/errors.js';
import { DEADLINE_MESSAGE } from '../core/request/envelope.js';
import type { Outcome } from '../core/request/record.js';
import { toJsonResult } from './json-result.js';
import { isRetryable, ProcessorResponse } from './processor.js';
import { backoffMs, hasAttemptsLeft, type RetryPolicy } from './retry-policy.js';

export type Decision =
  | { readonly kind: 'complete'; readonly outcome: Outcome }
  | { readonly kind: 'retry'; readonly delayMs: number; readonly error: Error; readonly elapsedMs: number }
  | { readonly kind: 'defer'; readonly delayMs: number; readonly error: Error }
  | { readonly kind: 'release' }
  | { readonly kind: 'cancelled' }
  | { readonly kind: 'timeout'; readonly outcome: Outcome }
  | { readonly kind: 'fail'; readonly outcome: Outcome; readonly error: Error };


/** Why an execution was aborted from outside the processor. */
export class ShutdownAbort extends Error {
  constructor() {
    super('the worker is shutting down');
    this.name = 'ShutdownAbort';
  }
}

/** Why an execution was aborted because a client cancelled the request (the store already says CANCELLED). */
export class CancelAbort extends Error {
  constructor() {
    super('the request was cancelled');
    this.name = 'CancelAbort';
  }
}

export function onSuccess(value: unknown, elapsedMs: number, maxResultBytes?: number): Decision {
  const response = value instanceof ProcessorResponse ? value : new ProcessorResponse(value, null, null);
  let result: unknown;
  try {
    result = toJsonResult(response.result, maxResultBytes);
  } catch (error) {
    return onFailure(error, { attempt: 1, policy: { maxAttempts: 1, baseMs: 0, maxMs: 0 }, elapsedMs });
  }
  return {
    kind: 'complete',
    outcome: { result, statusCode: response.statusCode, headers: response.headers, processingTimeMs: elapsedMs, error: null, completedAt: Date.now(), body: response.body },
  };
}

export function onFailure(thrown: unknown, at: { attempt: number; policy: RetryPolicy; elapsedMs: number }, random?: () => number): Decision {
  if (thrown instanceof ShutdownAbort) return { kind: 'release' };
  if (thrown instanceof CancelAbort) return { kind: 'cancelled' };
  if (isHqmError(thrown) && thrown.code === 'HQM_ERR_DEADLINE_EXCEEDED') return { kind: 'timeout', outcome: failure(DEADLINE_MESSAGE, at.elapsedMs) };
  const error = coerceError(thrown);
  if (error instanceof DeferralError) return { kind: 'defer', delayMs: error.delayMs, error };
  if (isRetryable(error) && hasAttemptsLeft(at.policy, at.attempt)) {
    const backoff = backoffMs(at.policy, at.attempt, random);
    const upstreamAsks = error instanceof UpstreamStatusError ? (error.retryAfterMs ?? 0) : 0;
    return { kind: 'retry', delayMs: Math.max(backoff, upstreamAsks), error, elapsedMs: at.elapsedMs };
  }
  const answer = error instanceof UpstreamStatusError ? error.answer : undefined;
  return { kind: 'fail', outcome: failure(describe(error), at.elapsedMs, answer, isHqmError(error) ? error.code : null), error };
}

export function failure(error: string, processingTimeMs: number, answer?: UpstreamAnswer, errorCode: ErrorCode | null = null): Outcome {
  return {
    result: answer?.result ?? null,
    statusCode: answer?.statusCode ?? null,
    headers: answer?.headers ?? null,
    processingTimeMs,
    error,
    errorCode,
    completedAt: Date.now(),
    body: answer?.body ?? null,
  };
}

function describe(error: Error): string {
  return error instanceof HqmError || error.message !== '' ? error.message : error.name;
}

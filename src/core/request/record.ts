/**
 * What the result store keeps per request: the record (current state plus outcome) and the
 * audit trail of every transition. Times are epoch milliseconds; the API renders them as ISO-8601.
 *
 * @module
 */
import type { ErrorCode, RawBody } from '../errors.js';
import type { Status } from './lifecycle.js';

/** How a request ended. Written in the same atomic step as the terminal status. */
export interface Outcome {
  /** The processor's return value (any JSON), or null on failure. */
  readonly result: unknown;
  /** HTTP status of the upstream answer when a request was forwarded; null otherwise. */
  readonly statusCode: number | null;
  readonly headers: Readonly<Record<string, string>> | null;
  readonly processingTimeMs: number | null;
  readonly error: string | null;
  /** The catalogue code of a gateway-side failure (no route, a transform, …); null for a processor's own error (absent in older records). */
  readonly errorCode?: ErrorCode | null;
  readonly completedAt: number;
  /** The upstream body byte for byte, kept for captured requests so it can be replayed verbatim. */
  readonly body?: RawBody | null;
  /** The follow-up request this one chained when it completed (metadata.then); absent otherwise. */
  readonly nextId?: string | null;
}

export interface RequestRecord {
  readonly id: string;
  readonly status: Status;
  /** Delivery attempt that last moved the record (0 until a worker first claims it). */
  readonly attempt: number;
  readonly queue: string;
  readonly priority: number;
  readonly submittedAt: number;
  readonly updatedAt: number;
  /** Past this instant the request can only end in TIMEOUT; null means no deadline. */
  readonly deadlineAt: number | null;
  /** The record and its events are forgotten after this instant. */
  readonly expiresAt: number;
  /** How long the record lives after its last terminal change. */
  readonly ttlMs: number;
  readonly workerId: string | null;
  /** Last progress a processor reported (0..100), null if it never did. */
  readonly progress: number | null;
  /** Last error seen, also kept while a failed attempt waits for its retry. */
  readonly error: string | null;
  readonly outcome: Outcome | null;
  /** The tenant that submitted it (auth.enabled); null without authentication. Never changes. */
  readonly tenant: string | null;
  /**
   * When a delayed request (metadata.delay / metadata.run_at) becomes due (epoch ms); null when
   * it was not delayed. Its deadline counts from here (D100). Never changes.
   */
  readonly runAt: number | null;
}

/**
 * Something that happened to a request without changing its status (a webhook attempt, a
 * follow-up request submitted): `kind` names it, `detail` is small JSON for the trail's readers.
 */
export interface TrailNote {
  readonly kind: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

/**
 * One line of the audit trail: a transition as it was applied, or a note (then `from` and `to`
 * are both the status the record had, and the change feed does not report it).
 */
export interface RequestEvent {
  readonly at: number;
  /** null for the creation of the record. */
  readonly from: Status | null;
  readonly to: Status;
  readonly attempt: number;
  readonly workerId: string | null;
  readonly error: string | null;
  /** Present on notes only. */
  readonly note?: TrailNote;
}

/** Everything needed to create a record; it always starts PENDING at attempt 0. */
export interface NewRequest {
  readonly id: string;
  readonly queue: string;
  readonly priority: number;
  readonly submittedAt: number;
  readonly deadlineAt: number | null;
  readonly ttlMs: number;
  /** The submitting principal's tenant; absent or null without authentication. */
  readonly tenant?: string | null;
  /** When a delayed request becomes due (epoch ms); absent or null when it is not delayed. */
  readonly runAt?: number | null;
}

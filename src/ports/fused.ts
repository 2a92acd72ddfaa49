/**
 * FusedBackend: the optional fast path of a queue backend and a result store that live on one
 * server (one SQLite file, one Redis, one PostgreSQL database and schema). Where the two ports
 * take two writes — the record, then the message; the outcome, then the settlement — a fused
 * pair takes one atomic write, and batches the writes of one event-loop turn where its server
 * rewards that. It changes no contract: whatever the two ports promise separately holds here,
 * and src/conformance/fused.ts checks the pair on top of both ports' suites (D180).
 *
 * - **Submit is atomic.** `submit` stores the record (as `ResultStore.create`) and the message
 *   (as `QueueBackend.publish`) together or not at all. A refused submit — a duplicate id
 *   (HQM_ERR_DUPLICATE_ID), a body over the queue's limit (HQM_ERR_BODY_TOO_LARGE) — writes
 *   nothing, and fails only itself, whatever else was submitted in the same turn. Any other
 *   rejection (HQM_ERR_BACKEND_UNAVAILABLE) means the server could not say: the write landed
 *   whole or not at all, and the caller withdraws it as after a failed two-port submit.
 * - **Finish is atomic.** `finish` applies a compare-and-set (as `ResultStore.transition`) and
 *   settles the delivery in the same step: as `applied` when the transition applied, as
 *   `otherwise` when it did not (not found, or a conflict). So a crash leaves either both or
 *   neither, and a redelivery after "neither" finds the record under its lease as before. A
 *   delivery whose lease lapsed settles nothing (stale settles are harmless), while its
 *   transition is decided by the record alone, as in the two-port path.
 * - **Same observable behaviour.** Change-feed reports, trail events, wake-ups of consumers and
 *   the records and messages themselves are exactly what the two ports would have produced.
 *
 * A pair offers it only when both really share one server; the composition root asks the
 * registry (adapters/fused/registry.ts) and falls back to the two ports otherwise.
 *
 * @module
 */
import type { NewRequest, RequestRecord } from '../core/request/record.js';
import type { Delivery, OutboundMessage } from './queue-backend.js';
import type { TransitionRequest, TransitionResult } from './result-store.js';

export interface FusedSubmission {
  /** The record to create (as `ResultStore.create`). */
  readonly request: NewRequest;
  /** The backend queue the message goes to, and the message (as `QueueBackend.publish`). */
  readonly queue: string;
  readonly message: OutboundMessage;
}

export interface FusedSubmitted {
  readonly record: RequestRecord;
  readonly messageId: string;
}

/** How a finish settles its delivery (the Delivery methods of the same names). */
export type Settlement =
  | { readonly kind: 'ack' }
  | { readonly kind: 'retry'; readonly delayMs: number }
  | { readonly kind: 'release'; readonly delayMs: number }
  | { readonly kind: 'deadLetter'; readonly reason: string };

export interface FusedFinish {
  /** The compare-and-set; never a claim under a tenant limit (that one stays with `ResultStore.claim`). */
  readonly transition: Omit<TransitionRequest, 'tenantLimit'>;
  /** The settlement when the transition applied. */
  readonly applied: Settlement;
  /** The settlement when it did not (the record is gone, or another hand moved it). */
  readonly otherwise: Settlement;
}

export interface FusedBackend {
  /** `<queue type>+<store type>`, for logs. */
  readonly type: string;
  /** Record and message in one atomic write (see the contract above). */
  submit(submission: FusedSubmission): Promise<FusedSubmitted>;
  /**
   * Whether `finish` can settle this delivery: it came from this pair's queue. A delivery from
   * elsewhere (another backend, a test double) goes the two-port way.
   */
  owns(delivery: Delivery): boolean;
  /** The transition and the settlement of `delivery` in one atomic write (see the contract above). */
  finish(delivery: Delivery, finish: FusedFinish): Promise<TransitionResult>;
}

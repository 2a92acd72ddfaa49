/**
 * The claim every result store applies before a worker runs a request (ports v2, D130): the
 * store, not the broker, decides whether a delivery may run and which attempt it is. A claim is
 * a compare-and-set that moves the record to PROCESSING under the next attempt number and gives
 * the claimer a lease it renews from its heartbeat. While that lease is live no other delivery
 * of the request runs (it is handed back, uncounted); once it lapsed, a claim takes the record
 * over as the next attempt. The attempt therefore counts runs, whatever the broker counted.
 *
 * Pure like `planTransition`, which it feeds: stores run it inside their own atomic step.
 *
 * @module
 */
import { isTerminal } from './lifecycle.js';
import type { RequestRecord } from './record.js';
import type { TransitionChange } from './transition.js';

export interface ClaimChange {
  readonly workerId: string;
  /** How long the lease lasts from the claim (and from each renewal). */
  readonly leaseMs: number;
}

export type ClaimPlan =
  /** Apply `change` with `planTransition`, and set the lease to `leaseUntil`. */
  | { readonly kind: 'claim'; readonly change: TransitionChange; readonly leaseUntil: number }
  /** Another holder's lease is live until `leaseUntil`: hand the delivery back without running it. */
  | { readonly kind: 'held'; readonly leaseUntil: number }
  /** Finished: nothing left to run. */
  | { readonly kind: 'finished' };

/**
 * What a claim does to `current`, whose lease (as the store keeps it beside the record) is
 * `leaseUntil`: null, or a time at or before `now`, is lapsed. A lease left over on a record
 * that is no longer PROCESSING means nothing (every claim writes a fresh one).
 */
export function planClaim(current: Pick<RequestRecord, 'status' | 'attempt'>, leaseUntil: number | null, claim: ClaimChange, now: number): ClaimPlan {
  if (isTerminal(current.status)) return { kind: 'finished' };
  if (current.status === 'PROCESSING' && leaseUntil !== null && leaseUntil > now) return { kind: 'held', leaseUntil };
  return {
    kind: 'claim',
    change: { from: ['PENDING', 'PROCESSING'], to: 'PROCESSING', attempt: current.attempt + 1, workerId: claim.workerId, error: null },
    leaseUntil: now + claim.leaseMs,
  };
}

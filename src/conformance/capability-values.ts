/**
 * What the queue suite asks of a backend and expects back, read from its capability values
 * (D132, D175): timings in the backend's own steps, so a case written for a millisecond backend
 * asks one that delays or leases by the second for whole seconds and waits correspondingly
 * longer; and delivery counts by what its `deliveryCount` counts.
 *
 * @module
 */
import type { QueueCapabilityValues } from '../ports/queue-backend.js';

export interface Timing {
  /** The coarser of the backend's delay and lease steps (1 ms on the built-in backends). */
  readonly step: number;
  /** How much earlier than asked a delay may end: one delay step, and 25 ms for timers and clocks. */
  readonly early: number;
  /**
   * A delay of at least `ms` the backend can carry exactly: a whole number of its delay steps,
   * and at least two of them (a due time kept in whole steps may end up to one step early).
   */
  delay(ms: number): number;
  /** A visibility timeout of at least `ms` in whole lease steps, within the backend's lease range. */
  lease(ms: number): number;
  /** The deadline of a wait that takes well under `ms` on a millisecond backend, grown by ten of this one's steps. */
  patience(ms: number): number;
}

export function timingOf(values: Pick<QueueCapabilityValues, 'delays' | 'lease'>): Timing {
  const delayStep = Math.max(1, values.delays?.granularityMs ?? 1);
  const leaseStep = Math.max(1, values.lease?.granularityMs ?? 1);
  const step = Math.max(delayStep, leaseStep);
  const roundUp = (ms: number, by: number): number => Math.ceil(ms / by) * by;
  return {
    step,
    early: Math.max(25, delayStep),
    delay: (ms) => (delayStep === 1 ? ms : roundUp(Math.max(ms, 2 * delayStep), delayStep)),
    lease: (ms) => {
      const { lease } = values;
      // Session-held messages have no lease to ask for: the value is passed and ignored.
      if (lease === null) return ms;
      return Math.min(lease.maxMs, roundUp(Math.max(ms, lease.minMs), leaseStep));
    },
    patience: (ms) => ms + 10 * step,
  };
}

/** What brings a message back, for the counts it shows: a retry, a release, or a lapsed lease. */
export type Redelivery = 'retry' | 'release' | 'lapse';

/**
 * The `deliveryCount` of each delivery of one message under `counting`, the first delivery and
 * then one after each of `steps`: deliveries counts all but releases, every-delivery counts
 * all, none always says 1.
 */
export function expectedCounts(counting: QueueCapabilityValues['deliveryCounting'], steps: readonly Redelivery[]): number[] {
  const counts = [1];
  for (const step of steps) {
    const last = counts[counts.length - 1] ?? 1;
    if (counting === 'none') counts.push(1);
    else if (counting === 'every-delivery' || step !== 'release') counts.push(last + 1);
    else counts.push(last);
  }
  return counts;
}

/**
 * The capability values the built-in queue backends share: each keeps its messages in its own
 * store with millisecond timestamps and leases (memory, SQLite, Redis), so they delay and lease
 * by the millisecond up to Node's longest timer, count only deliveries, settle by lease token,
 * order strictly by priority and per key, count exactly and browse dead letters (D132).
 *
 * @module
 */
import type { QueueCapabilityValues } from '../../ports/queue-backend.js';

/** Node's longest timer (about 24.8 days): a consumer's wake-up for a due message or a lapsed lease. */
const LONGEST_TIMER_MS = 2_147_483_647;

export const STORED_QUEUE_VALUES: QueueCapabilityValues = {
  delays: { maxMs: LONGEST_TIMER_MS, granularityMs: 1 },
  lease: { minMs: 1, maxMs: LONGEST_TIMER_MS, granularityMs: 1 },
  redelivery: 'lease',
  deliveryCounting: 'deliveries',
  staleSettles: 'harmless',
  priorities: 'strict',
  ordering: 'per-key',
  stats: 'exact',
  deadLetterBrowsing: true,
};

import { describe, expect, it } from 'vitest';
import type { QueueCapabilityValues } from './queue-backend.js';
import { chainedDelay, queueCapabilityIssues } from './queue-capabilities.js';

const STORED_QUEUE_VALUES: QueueCapabilityValues = {
  delays: { maxMs: 2_147_483_647, granularityMs: 1 },
  lease: { minMs: 1, maxMs: 2_147_483_647, granularityMs: 1 },
  redelivery: 'lease',
  deliveryCounting: 'deliveries',
  staleSettles: 'harmless',
  priorities: 'strict',
  ordering: 'per-key',
  stats: 'exact',
  deadLetterBrowsing: true,
};

const sqsLike = { ...STORED_QUEUE_VALUES, delays: { maxMs: 900_000, granularityMs: 1_000 }, lease: { minMs: 0, maxMs: 43_200_000, granularityMs: 1_000 } };
const pubsubLike = { ...STORED_QUEUE_VALUES, lease: { minMs: 10_000, maxMs: 600_000, granularityMs: 1_000 } };

describe('capability values', () => {
  it('chains a delay longer than the backend carries: its longest step, never a shortened whole', () => {
    expect(chainedDelay(sqsLike, 5_000)).toBe(5_000);
    expect(chainedDelay(sqsLike, 3_600_000)).toBe(900_000);
    expect(chainedDelay({ delays: { maxMs: 1_500, granularityMs: 1_000 } }, 10_000)).toBe(1_000);
    expect(chainedDelay({ delays: null }, 10_000)).toBe(0);
  });

  it('refuses a visibility timeout outside the lease range, naming the key and the range', () => {
    const [issue, ...rest] = queueCapabilityIssues('pubsub', pubsubLike, { visibilityTimeoutMs: 5_000, longestRetryDelayMs: 60_000, worker: true });
    expect(rest).toEqual([]);
    expect(issue).toEqual({ path: 'queue.visibility_timeout_seconds', message: expect.stringMatching(/10–600 s; 5 s is outside/) });
    expect(queueCapabilityIssues('pubsub', pubsubLike, { visibilityTimeoutMs: 30_000, longestRetryDelayMs: 60_000, worker: true })).toEqual([]);
    // An API-only process never leases.
    expect(queueCapabilityIssues('pubsub', pubsubLike, { visibilityTimeoutMs: 5_000, longestRetryDelayMs: 60_000, worker: false })).toEqual([]);
  });

  it('refuses a retry backoff longer than the longest delay, and a backend that never redelivers', () => {
    expect(queueCapabilityIssues('sqs', sqsLike, { visibilityTimeoutMs: 30_000, longestRetryDelayMs: 3_600_000, worker: true }).map((i) => i.path)).toEqual(['worker.retry_delay_max']);
    expect(queueCapabilityIssues('fire', { ...STORED_QUEUE_VALUES, redelivery: 'none' }, { visibilityTimeoutMs: 30_000, longestRetryDelayMs: 1_000, worker: true }).map((i) => i.path)).toEqual(['queue.type']);
  });
});

import { describe, expect, it } from 'vitest';
import { expectedCounts, timingOf } from './capability-values.js';

describe('timingOf', () => {
  it('keeps a millisecond backend’s timings as the cases wrote them', () => {
    const t = timingOf({ delays: { maxMs: 2 ** 31 - 1, granularityMs: 1 }, lease: { minMs: 1, maxMs: 2 ** 31 - 1, granularityMs: 1 } });
    expect([t.delay(400), t.lease(300), t.early, t.patience(10_000)]).toEqual([400, 300, 25, 10_010]);
  });

  it('asks a backend of whole seconds for whole seconds within its range, and waits longer', () => {
    const t = timingOf({ delays: { maxMs: 900_000, granularityMs: 1000 }, lease: { minMs: 10_000, maxMs: 600_000, granularityMs: 1000 } });
    expect([t.delay(50), t.delay(400), t.delay(2_500), t.lease(300), t.lease(12_345), t.lease(3_600_000)]).toEqual([2000, 2000, 3000, 10_000, 13_000, 600_000]);
    expect([t.step, t.early, t.patience(10_000)]).toEqual([1000, 1000, 20_000]);
  });

  it('passes a lease through where messages are held by a session', () => {
    expect(timingOf({ delays: null, lease: null }).lease(300)).toBe(300);
  });
});

describe('expectedCounts', () => {
  it('counts by the backend’s counting', () => {
    const steps = ['retry', 'release', 'lapse'] as const;
    expect(expectedCounts('deliveries', steps)).toEqual([1, 2, 2, 3]);
    expect(expectedCounts('every-delivery', steps)).toEqual([1, 2, 3, 4]);
    expect(expectedCounts('none', steps)).toEqual([1, 1, 1, 1]);
  });
});

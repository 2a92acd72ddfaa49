import { describe, expect, it } from 'vitest';
import { bandIndex, DELAY_STEP_MS, tierFor, TIERS_MS, topologyOf } from './names.js';

describe('rabbitmq names and delay tiers', () => {
  it('chains any delay through tiers that never end it early, three hops of a tier at most', () => {
    for (const delay of [1, 99, 100, 101, 300, 400, 1_000, 30_000, 3_600_000, 86_400_000, 20 * 86_400_000]) {
      let remaining = delay;
      let waited = 0;
      const hops = new Map<number, number>();
      while (remaining > 0) {
        const tier = tierFor(remaining);
        hops.set(tier, (hops.get(tier) ?? 0) + 1);
        waited += tier;
        remaining -= tier;
      }
      expect(waited).toBeGreaterThanOrEqual(delay);
      // Late by less than the shortest tier.
      expect(waited - delay).toBeLessThan(DELAY_STEP_MS);
      const longest = TIERS_MS.at(-1) as number;
      for (const [tier, count] of hops) if (tier !== longest) expect(count, `${delay} ms: tier ${tier}`).toBeLessThanOrEqual(3);
    }
  });

  it('names bands, tiers and the dead-letter stream with a separator no derived queue name has', () => {
    const t = topologyOf('p.', 'openhqm-requests', [5, 9]);
    expect(t.bands).toEqual([
      { min: 0, queue: 'p.openhqm-requests' },
      { min: 5, queue: 'p.openhqm-requests:p5' },
      { min: 9, queue: 'p.openhqm-requests:p9' },
    ]);
    expect(t.tiers[0]?.queue).toBe('p.openhqm-requests:delay:100');
    expect(t.dead).toBe('p.openhqm-requests:dead');
    expect([0, 4, 5, 8, 9].map((p) => bandIndex(t, p))).toEqual([0, 0, 1, 1, 2]);
    expect(topologyOf('', 'q', []).bands).toEqual([{ min: 0, queue: 'q' }]);
  });
});

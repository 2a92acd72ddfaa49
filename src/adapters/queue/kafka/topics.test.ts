import { describe, expect, it } from 'vitest';
import { nextHop, queueTopics, roundDelay, tierDelayMs } from './topics.js';

/** Every hop of a delay until nothing is left. */
function hops(delayMs: number, tiers: number): number[] {
  const out: number[] = [];
  for (let hop = nextHop(delayMs, tiers); hop !== undefined; hop = nextHop(hop.restMs, tiers)) out.push(hop.tier);
  return out;
}

describe('delay tiers', () => {
  it('rounds a delay up to whole seconds; none for zero or less', () => {
    expect(roundDelay(0)).toBe(0);
    expect(roundDelay(-5)).toBe(0);
    expect(roundDelay(1)).toBe(1000);
    expect(roundDelay(1000)).toBe(1000);
    expect(roundDelay(1001)).toBe(2000);
    expect(nextHop(0, 8)).toBeUndefined();
  });

  it('splits a delay greedily into hops whose tier delays add up to it exactly', () => {
    expect(hops(2000, 8)).toEqual([0, 0]);
    expect(hops(90_000, 8)).toEqual([3, 2, 1, 1, 0, 0]);
    for (const seconds of [1, 3, 4, 5, 17, 60, 61, 3600, 86_400]) {
      const path = hops(seconds * 1000, 8);
      expect(path.reduce((sum, tier) => sum + tierDelayMs(tier), 0)).toBe(seconds * 1000);
      // Largest first, and at most three hops of any tier below the top one.
      expect([...path].sort((a, b) => b - a)).toEqual(path);
      for (let tier = 0; tier < 7; tier += 1) expect(path.filter((t) => t === tier).length).toBeLessThanOrEqual(3);
    }
  });

  it('never uses a tier beyond the configured count: long delays take more hops of the top one', () => {
    const path = hops(86_400_000, 3);
    expect(Math.max(...path)).toBe(2);
    expect(path.reduce((sum, tier) => sum + tierDelayMs(tier), 0)).toBe(86_400_000);
  });

  it('names the queue, its tiers and its dead letters', () => {
    expect(queueTopics('q', 2)).toEqual(['q', 'q.retry.0', 'q.retry.1', 'q.dlt']);
  });
});

import { describe, expect, it } from 'vitest';
import { MINUTE_MS, MinuteAccumulator, minuteOf, recentCounts, recentWindowSince } from './minutes.js';

const M = Date.UTC(2030, 0, 2, 10, 30);

describe('minute counts', () => {
  it('accumulates per (minute, queue) and puts back what a failed write took', () => {
    const acc = new MinuteAccumulator();
    acc.count(M + 1_000, 'a', 'completed');
    acc.count(M + 59_999, 'a', 'failed');
    acc.count(M + MINUTE_MS, 'a', 'completed');
    acc.count(M, 'b', 'completed', 3);
    const taken = acc.take();
    // In no particular order: each row is written on its own.
    expect(taken).toHaveLength(3);
    expect(taken).toEqual(
      expect.arrayContaining([
        { minute: M, queue: 'a', completed: 1, failed: 1 },
        { minute: M + MINUTE_MS, queue: 'a', completed: 1, failed: 0 },
        { minute: M, queue: 'b', completed: 3, failed: 0 },
      ]),
    );
    expect(acc.size).toBe(0);
    acc.count(M, 'a', 'completed');
    acc.restore(taken);
    expect(acc.take()).toContainEqual({ minute: M, queue: 'a', completed: 2, failed: 1 });
  });

  it('reads the last 60 s as the current minute plus the previous one weighted by its overlap', () => {
    const rows = [
      { minute: M - 2 * MINUTE_MS, queue: 'a', completed: 1000, failed: 1000 }, // wholly outside
      { minute: M - MINUTE_MS, queue: 'a', completed: 60, failed: 4 },
      { minute: M, queue: 'a', completed: 5, failed: 1 },
      { minute: M + MINUTE_MS, queue: 'b', completed: 2, failed: 0 }, // a fast clock's minute counts as current
    ];
    // 15 s into minute M: the window holds the last 45 s of the previous minute.
    const now = M + 15_000;
    expect(recentWindowSince(now)).toBe(M - MINUTE_MS);
    expect(Object.fromEntries(recentCounts(rows, now))).toEqual({ a: { completed: 5 + 45, failed: 1 + 3 }, b: { completed: 2, failed: 0 } });
    // At the start of a minute the previous one counts whole; at its end not at all.
    expect(recentCounts(rows, M).get('a')).toEqual({ completed: 65, failed: 5 });
    expect(recentCounts(rows, M + MINUTE_MS - 1).get('a')).toEqual({ completed: 5, failed: 1 });
    expect(minuteOf(M + 59_999)).toBe(M);
  });
});

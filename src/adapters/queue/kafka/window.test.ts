import { describe, expect, it } from 'vitest';
import { PartitionWindow } from './window.js';

describe('PartitionWindow', () => {
  it('commits only up to the lowest unfinished offset, whatever order messages finish in', () => {
    const w = new PartitionWindow();
    for (const o of [10n, 11n, 12n, 13n]) w.take(o);
    expect(w.pendingCommit()).toBe(10n);
    expect(w.finish(12n)).toBe(false);
    expect(w.finish(11n)).toBe(false);
    expect(w.next).toBe(10n);
    expect(w.finishedAhead).toBe(2);
    expect(w.finish(10n)).toBe(true);
    expect(w.next).toBe(13n);
    expect(w.open).toBe(1);
    w.confirm(13n);
    expect(w.pendingCommit()).toBeUndefined();
    expect(w.finish(13n)).toBe(true);
    expect(w.pendingCommit()).toBe(14n);
  });

  it('knows offsets it took or finished (a refetch after a rebalance is skipped), and ignores a double finish', () => {
    const w = new PartitionWindow();
    w.take(5n);
    w.take(6n);
    w.finish(5n);
    expect(w.knows(5n)).toBe(true);
    expect(w.knows(6n)).toBe(true);
    expect(w.knows(7n)).toBe(false);
    expect(w.finish(5n)).toBe(false);
    expect(w.finish(99n)).toBe(false);
  });

  it('steps over gaps in the offsets (compacted topics, transaction markers)', () => {
    const w = new PartitionWindow();
    w.take(3n);
    w.finish(3n);
    w.take(9n);
    expect(w.next).toBe(9n);
    w.finish(9n);
    expect(w.pendingCommit()).toBe(10n);
  });
});

describe('PartitionWindow at scale', () => {
  it('keeps up with many messages finishing behind one slow one, then commits them all at once', () => {
    const w = new PartitionWindow();
    const n = 50_000n;
    for (let o = 0n; o < n; o += 1n) w.take(o);
    for (let o = 1n; o < n; o += 1n) w.finish(o);
    expect(w.next).toBe(0n);
    expect(w.finishedAhead).toBe(Number(n) - 1);
    expect(w.finish(0n)).toBe(true);
    expect(w.next).toBe(n);
    expect(w.open).toBe(0);
    w.take(n);
    expect(w.knows(n)).toBe(true);
    expect(w.knows(5n)).toBe(true);
  });
});

import { describe, expect, it, vi } from 'vitest';
import type { PubSubDelivery } from './delivery.js';
import { KeyGate } from './key-gate.js';

/** A stand-in delivery: the gate reads only its key and may give it back. */
function delivery(name: string, partitionKey: string | null): PubSubDelivery & { name: string } {
  return { name, partitionKey, release: vi.fn(() => Promise.resolve()) } as unknown as PubSubDelivery & { name: string };
}

describe('KeyGate', () => {
  const gate = () => {
    const handed: string[] = [];
    return { handed, gate: new KeyGate((d) => handed.push((d as PubSubDelivery & { name: string }).name)) };
  };

  it('hands out one delivery per key at a time, the next when the head is done', () => {
    const { handed, gate: g } = gate();
    const [a1, a2, a3, b1] = [delivery('a1', 'a'), delivery('a2', 'a'), delivery('a3', 'a'), delivery('b1', 'b')];
    for (const d of [a1, a2, a3, b1]) g.offer(d, true);
    expect(handed).toEqual(['a1', 'b1']);
    g.settled(a1, 'done');
    expect(handed).toEqual(['a1', 'b1', 'a2']);
    g.settled(a2, 'done');
    g.settled(a3, 'done');
    expect(handed).toEqual(['a1', 'b1', 'a2', 'a3']);
    // The key is free again: a later message goes out at once.
    g.offer(delivery('a4', 'a'), true);
    expect(handed.at(-1)).toBe('a4');
  });

  it('passes keyless deliveries, and every delivery when ordering is off, straight through', () => {
    const { handed, gate: g } = gate();
    g.offer(delivery('x', null), true);
    g.offer(delivery('k1', 'k'), false);
    g.offer(delivery('k2', 'k'), false);
    expect(handed).toEqual(['x', 'k1', 'k2']);
  });

  it('gives back what waited behind a head that was given back, so the key comes again in order', () => {
    const { handed, gate: g } = gate();
    const [a1, a2, a3] = [delivery('a1', 'a'), delivery('a2', 'a'), delivery('a3', 'a')];
    for (const d of [a1, a2, a3]) g.offer(d, true);
    g.settled(a1, 'back');
    expect(handed).toEqual(['a1']);
    expect(a2.release).toHaveBeenCalledOnce();
    expect(a3.release).toHaveBeenCalledOnce();
    // Redelivered from its head, the key is served in order again.
    g.offer(delivery('a1', 'a'), true);
    expect(handed).toEqual(['a1', 'a1']);
  });

  it('drains what it holds back, handing none of it out', () => {
    const { handed, gate: g } = gate();
    const [a1, a2, b1, b2] = [delivery('a1', 'a'), delivery('a2', 'a'), delivery('b1', 'b'), delivery('b2', 'b')];
    for (const d of [a1, a2, b1, b2]) g.offer(d, true);
    expect(g.drain()).toEqual([a2, b2]);
    expect(handed).toEqual(['a1', 'b1']);
  });
});

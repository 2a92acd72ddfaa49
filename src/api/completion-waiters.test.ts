import { describe, expect, it } from 'vitest';
import type { ResultStore } from '../ports/result-store.js';
import { CompletionWaiters } from './completion-waiters.js';

/** The waiters only subscribe to the change feed. */
const store = { onChange: () => () => undefined } as unknown as ResultStore;

describe('CompletionWaiters', () => {
  it('declines a waiter past maxWaiters, and takes one again once a slot is free', async () => {
    const waiters = new CompletionWaiters(store, 2);
    const first = waiters.register('a', 60_000);
    const second = waiters.register('a', 60_000);
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(waiters.register('b', 60_000)).toBeUndefined();
    expect(waiters.waiting).toBe(2);
    first?.cancel();
    first?.cancel(); // Twice frees one slot, not two.
    await first?.settled;
    expect(waiters.waiting).toBe(1);
    const third = waiters.register('b', 60_000);
    expect(third).toBeDefined();
    expect(waiters.register('c', 60_000)).toBeUndefined();
    waiters.releaseAll();
    await Promise.all([second?.settled, third?.settled]);
    expect(waiters.waiting).toBe(0);
  });

  it('frees the slot of a waiter whose time ran out', async () => {
    const waiters = new CompletionWaiters(store, 1);
    const ticket = waiters.register('a', 5);
    await ticket?.settled;
    expect(waiters.waiting).toBe(0);
    expect(waiters.register('b', 60_000)).toBeDefined();
    waiters.releaseAll();
  });
});

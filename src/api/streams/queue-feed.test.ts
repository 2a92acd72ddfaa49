import { afterEach, describe, expect, it, vi } from 'vitest';
import { QueueFeed, type QueueSnapshot } from './queue-feed.js';

afterEach(() => {
  vi.useRealTimers();
});

/** A read that answers when told to, counting how often it was asked. */
function controlledRead() {
  const pending: Array<{ resolve: (n: number) => void; reject: (e: unknown) => void }> = [];
  let calls = 0;
  const read = (): Promise<number> => {
    calls += 1;
    return new Promise<number>((resolve, reject) => pending.push({ resolve, reject }));
  };
  return { read, pending, calls: () => calls };
}

describe('QueueFeed', () => {
  it('reads once per interval for every listener, starting with the first and stopping with the last', async () => {
    vi.useFakeTimers();
    let n = 0;
    const read = vi.fn(async () => ++n);
    const feed = new QueueFeed(read, 1000);
    const a: Array<QueueSnapshot<number>> = [];
    const b: Array<QueueSnapshot<number>> = [];
    expect(read).not.toHaveBeenCalled();
    const stopA = feed.subscribe((s) => a.push(s));
    await vi.advanceTimersByTimeAsync(0);
    // The second listener gets the latest table at once, without a read of its own.
    const stopB = feed.subscribe((s) => b.push(s));
    expect(read).toHaveBeenCalledTimes(1);
    expect(b).toEqual([{ ok: true, value: 1 }]);
    await vi.advanceTimersByTimeAsync(3000);
    expect(read).toHaveBeenCalledTimes(4);
    expect(a.map((s) => s.ok && s.value)).toEqual([1, 2, 3, 4]);
    expect(b.map((s) => s.ok && s.value)).toEqual([1, 2, 3, 4]);
    stopA();
    stopA(); // idempotent: b still listens
    await vi.advanceTimersByTimeAsync(1000);
    expect(read).toHaveBeenCalledTimes(5);
    stopB();
    expect(feed.listeners).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(read).toHaveBeenCalledTimes(5);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('hands a failed read to the listeners and keeps reading', async () => {
    vi.useFakeTimers();
    let fail = true;
    const feed = new QueueFeed(async () => {
      if (fail) throw new Error('down');
      return 'up';
    }, 500);
    const seen: Array<QueueSnapshot<string>> = [];
    const stop = feed.subscribe((s) => seen.push(s));
    await vi.advanceTimersByTimeAsync(0);
    fail = false;
    await vi.advanceTimersByTimeAsync(500);
    expect(seen).toEqual([{ ok: false, error: new Error('down') }, { ok: true, value: 'up' }]);
    stop();
  });

  it('never asks a slow backend twice at once, whoever comes and goes meanwhile', async () => {
    vi.useFakeTimers();
    const backend = controlledRead();
    const feed = new QueueFeed(backend.read, 100);
    const seen: number[] = [];
    const stop = feed.subscribe((s) => s.ok && seen.push(s.value));
    await vi.advanceTimersByTimeAsync(1000);
    expect(backend.calls()).toBe(1);
    backend.pending[0]!.resolve(7);
    await vi.advanceTimersByTimeAsync(100);
    expect(seen).toEqual([7]);
    expect(backend.calls()).toBe(2);
    // Everyone leaves while the second read is out, and someone comes back before it answers:
    // no second read at once; the newcomer gets that answer.
    stop();
    const later: number[] = [];
    const again = feed.subscribe((s) => s.ok && later.push(s.value));
    expect(backend.calls()).toBe(2);
    backend.pending[1]!.resolve(8);
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual([7]);
    expect(later).toEqual([8]);
    // A read that answers nobody starts no timer; the next listener starts a fresh read.
    await vi.advanceTimersByTimeAsync(100);
    again();
    backend.pending[2]!.resolve(9);
    await vi.advanceTimersByTimeAsync(1000);
    expect(vi.getTimerCount()).toBe(0);
    const last: number[] = [];
    const third = feed.subscribe((s) => s.ok && last.push(s.value));
    expect(backend.calls()).toBe(4);
    backend.pending[3]!.resolve(10);
    await vi.advanceTimersByTimeAsync(0);
    expect(last).toEqual([10]);
    third();
  });
});

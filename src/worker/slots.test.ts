import { describe, expect, it } from 'vitest';
import { WeightedSlots, type ReleaseSlot } from './slots.js';

const SHARES = [
  { name: 'high', weight: 3, concurrency: null },
  { name: 'default', weight: 2, concurrency: null },
  { name: 'batched', weight: 1, concurrency: null },
];

/** Keeps `depth` deliveries waiting in each queue and records which queue each slot went to. */
async function contend(slots: WeightedSlots, queues: readonly string[], grants: number, depth = 2): Promise<string[]> {
  const order: string[] = [];
  const held: ReleaseSlot[] = [];
  const enqueue = (queue: string): void => {
    void slots.acquire(queue).then((release) => {
      order.push(queue);
      held.push(release);
      enqueue(queue); // The consumer refills its lookahead.
    });
  };
  for (const queue of queues) for (let i = 0; i < depth; i += 1) enqueue(queue);
  await flush();
  while (order.length < grants) {
    (held.shift() as ReleaseSlot)();
    await flush();
  }
  return order;
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await Promise.resolve();
}

describe('WeightedSlots', () => {
  it('grants at once while slots are free, and never more than the total', async () => {
    const slots = new WeightedSlots(2, SHARES);
    const granted: string[] = [];
    for (const queue of ['batched', 'batched', 'high']) void slots.acquire(queue).then(() => granted.push(queue));
    await flush();
    expect(granted).toEqual(['batched', 'batched']);
    expect(slots.running).toBe(2);
    expect(slots.view('high')).toEqual({ running: 0, waiting: 1 });
  });

  it('fills contended slots 3:2:1, interleaved, and the lightest queue gets its turn every six', async () => {
    const slots = new WeightedSlots(4, SHARES);
    const order = await contend(slots, ['high', 'default', 'batched'], 4 + 600);
    const contended = order.slice(4);
    const count = (q: string): number => contended.filter((x) => x === q).length;
    // Exactly 3:2:1 but for where the window cuts the last round.
    for (const [queue, want] of [['high', 300], ['default', 200], ['batched', 100]] as const) expect(Math.abs(count(queue) - want)).toBeLessThanOrEqual(1);
    for (let i = 0; i + 6 <= contended.length; i += 6) expect(contended.slice(i, i + 6)).toContain('batched');
  });

  it('lets a queue that had nothing waiting catch up, by one round at most', async () => {
    const slots = new WeightedSlots(1, SHARES);
    const order: string[] = [];
    const held: ReleaseSlot[] = [];
    const feed = (queue: string): void => {
      void slots.acquire(queue).then((release) => {
        order.push(queue);
        held.push(release);
        feed(queue);
      });
    };
    const step = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i += 1) {
        (held.shift() as ReleaseSlot)();
        await flush();
      }
    };
    for (const queue of ['high', 'high', 'default', 'default']) feed(queue);
    await flush();
    await step(60); // batched has had nothing for ten rounds...
    const before = order.length;
    feed('batched');
    feed('batched');
    await flush();
    await step(12);
    // ...and gets its 2 of the next 12 starts plus one round's catch-up at most, not a burst of 10.
    const batched = order.slice(before, before + 12).filter((q) => q === 'batched').length;
    expect(batched).toBeGreaterThanOrEqual(2);
    expect(batched).toBeLessThanOrEqual(3);
  });

  it('gives a queue without competitors every free slot', async () => {
    const slots = new WeightedSlots(3, SHARES);
    const order = await contend(slots, ['batched'], 20);
    expect(order.every((q) => q === 'batched')).toBe(true);
    expect(slots.view('batched').running).toBe(3);
  });

  it('never runs more of a queue than its concurrency, and gives the rest to the others', async () => {
    const slots = new WeightedSlots(4, [
      { name: 'heavy', weight: 10, concurrency: 1 },
      { name: 'light', weight: 1, concurrency: null },
    ]);
    let heavyRunning = 0;
    let heavyMost = 0;
    const held: Array<{ queue: string; release: ReleaseSlot }> = [];
    const enqueue = (queue: string): void => {
      void slots.acquire(queue).then((release) => {
        if (queue === 'heavy') heavyMost = Math.max(heavyMost, (heavyRunning += 1));
        held.push({ queue, release });
        enqueue(queue);
      });
    };
    for (let i = 0; i < 3; i += 1) {
      enqueue('heavy');
      enqueue('light');
    }
    await flush();
    for (let n = 0; n < 200; n += 1) {
      const done = held.shift() as { queue: string; release: ReleaseSlot };
      if (done.queue === 'heavy') heavyRunning -= 1;
      done.release();
      await flush();
    }
    expect(heavyMost).toBe(1);
    expect(slots.view('light').running).toBe(3);
    expect(slots.holdLimit('heavy')).toBe(1);
  });

  it('asks each consumer for its weighted share of the free slots, and keeps some waiting while others compete', async () => {
    const slots = new WeightedSlots(6, SHARES);
    expect(['high', 'default', 'batched'].map((q) => slots.holdLimit(q))).toEqual([3, 2, 2]);
    const releases: ReleaseSlot[] = [];
    for (let i = 0; i < 6; i += 1) releases.push(await slots.acquire('high'));
    // No slot free: each queue keeps at least two ready beyond what it runs, for the next free slots.
    expect(['high', 'default', 'batched'].map((q) => slots.holdLimit(q))).toEqual([6, 2, 2]);
  });

  it('lets a queue alone in the process hold exactly the total, as a single consumer did', async () => {
    const slots = new WeightedSlots(5, [{ name: 'default', weight: 1, concurrency: null }]);
    expect(slots.holdLimit('default')).toBe(5);
    for (let i = 0; i < 5; i += 1) await slots.acquire('default');
    expect(slots.holdLimit('default')).toBe(5);
  });

  it('tells a held-back consumer when it may hold more', async () => {
    const slots = new WeightedSlots(3, SHARES);
    let raised = 0;
    slots.onRaise('default', () => (raised += 1));
    await slots.acquire('high');
    await slots.acquire('high');
    const release = await slots.acquire('high');
    void slots.acquire('default');
    void slots.acquire('default'); // Holds its two waiting: held back.
    await flush();
    expect(slots.holdLimit('default')).toBe(2);
    expect(raised).toBe(0);
    release(); // default's waiter runs: it may take its next lookahead.
    await flush();
    expect(slots.view('default').running).toBe(1);
    expect(raised).toBe(1);
  });

  it('drops an aborted waiter without giving it a slot', async () => {
    const slots = new WeightedSlots(1, SHARES);
    const release = await slots.acquire('high');
    const controller = new AbortController();
    const waiting = slots.acquire('default', controller.signal);
    controller.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
    expect(slots.view('default').waiting).toBe(0);
    release();
    release(); // A second release changes nothing.
    expect(slots.running).toBe(0);
  });

  it('refuses queues it was not given and impossible settings', () => {
    expect(() => new WeightedSlots(0, SHARES)).toThrow(RangeError);
    expect(() => new WeightedSlots(1, [])).toThrow(RangeError);
    expect(() => new WeightedSlots(1, [SHARES[0], SHARES[0]].map((s) => s as (typeof SHARES)[number]))).toThrow('twice');
    expect(() => new WeightedSlots(1, SHARES).holdLimit('nope')).toThrow('not served');
  });
});

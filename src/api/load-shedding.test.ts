import { describe, expect, it } from 'vitest';
import { isHqmError } from '../core/errors.js';
import type { QueueBackend } from '../ports/queue-backend.js';
import { DepthGate, DepthGates } from './load-shedding.js';

/** A queue whose stats() answers only when the test says so. */
function queueWithDepth(): { queue: QueueBackend; answer(depth: number): Promise<void> } {
  const waiting: Array<(depth: number) => void> = [];
  const queue = {
    stats: () => new Promise((resolve) => waiting.push((depth) => resolve({ depth, delayed: 0, inFlight: 0, deadLettered: 0 }))),
  } as unknown as QueueBackend;
  return {
    queue,
    answer: async (depth) => {
      waiting.shift()?.(depth);
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const refused = (gate: DepthGate): boolean => {
  try {
    gate.check();
    return false;
  } catch (error) {
    if (isHqmError(error) && error.code === 'HQM_ERR_OVERLOADED') return true;
    throw error;
  }
};

describe('DepthGate', () => {
  it('lets a burst between two depth reads through only up to the limit', () => {
    const gate = new DepthGate(queueWithDepth().queue, 'q', 3, 60_000);
    expect([refused(gate), refused(gate), refused(gate), refused(gate), refused(gate)]).toEqual([false, false, false, true, true]);
  });

  it('adds the submits let through since a read began to the depth it reports', async () => {
    const backend = queueWithDepth();
    const gate = new DepthGate(backend.queue, 'q', 10, 0);
    expect(refused(gate)).toBe(false); // Starts the first read; 1 submit since.
    expect(refused(gate)).toBe(false); // 2 since.
    await backend.answer(7); // The read saw 7 (perhaps without those 2): 7 + 2 = 9.
    expect(refused(gate)).toBe(false); // 10 now; a new read starts.
    expect(refused(gate)).toBe(true);
    await backend.answer(0); // Drained: the one submit since that read began is all that counts.
    expect(refused(gate)).toBe(false);
  });

  it('never refuses when the limit is 0', () => {
    const gate = new DepthGate(queueWithDepth().queue, 'q', 0);
    expect(Array.from({ length: 100 }, () => refused(gate)).some(Boolean)).toBe(false);
  });

  it('watches each queue on its own: a full queue refuses its submits, not another queue\'s', async () => {
    const depths = new Map([['full', 5], ['empty', 0]]);
    const asked: string[] = [];
    const queue = { stats: async (name: string) => (asked.push(name), { depth: depths.get(name) ?? 0, delayed: 0, inFlight: 0, deadLettered: 0 }) } as unknown as QueueBackend;
    const gates = new DepthGates(queue, 5, 0);
    const refusedOn = (name: string): boolean => {
      try {
        gates.check(name);
        return false;
      } catch (error) {
        if (isHqmError(error) && error.code === 'HQM_ERR_OVERLOADED') return true;
        throw error;
      }
    };
    refusedOn('full');
    refusedOn('empty');
    await new Promise((resolve) => setImmediate(resolve)); // the first reads land
    expect(refusedOn('full')).toBe(true);
    expect(refusedOn('empty')).toBe(false);
    expect(new Set(asked)).toEqual(new Set(['full', 'empty']));
  });
});

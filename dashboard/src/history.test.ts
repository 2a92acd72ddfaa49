import { describe, expect, it } from 'vitest';
import type { QueueRow, QueueTable } from './api.js';
import { addSnapshot, sparkline, type QueueHistory } from './history.js';

const row = (name: string, depth: number): QueueRow => ({
  name,
  backend_queue: `q.${name}`,
  weight: 1,
  concurrency: null,
  depth,
  delayed: 0,
  in_flight: depth > 0 ? 1 : 0,
  dead_letters: 0,
  oldest_waiting_seconds: null,
  completed_last_minute: 10,
  failed_last_minute: 1,
});
const table = (...rows: QueueRow[]): QueueTable => ({ queues: rows, window: { seconds: 60, scope: 'deployment' } });

describe('addSnapshot', () => {
  it('keeps the last samples of each listed queue, oldest first', () => {
    let history: QueueHistory = new Map();
    for (let i = 0; i < 5; i += 1) history = addSnapshot(history, table(row('default', i), row('high', 10 * i)), 1000 * i, 3);
    expect(history.get('default')?.map((s) => [s.at, s.depth])).toEqual([
      [2000, 2],
      [3000, 3],
      [4000, 4],
    ]);
    expect(history.get('high')?.at(-1)).toEqual({ at: 4000, depth: 40, inFlight: 1, completedPerMinute: 10, failedPerMinute: 1 });
    // A queue removed from the configuration leaves the history with the next snapshot.
    history = addSnapshot(history, table(row('default', 7)), 5000, 3);
    expect([...history.keys()]).toEqual(['default']);
  });
});

describe('sparkline', () => {
  it('draws values left to right with the largest at the top', () => {
    expect(sparkline([0, 5, 10], 100, 22)).toBe('0,21 50,11 100,1');
    // Small numbers stay low against the floor; one value sits at the right edge.
    expect(sparkline([0, 0], 10, 12)).toBe('0,11 10,11');
    expect(sparkline([3], 10, 12, 6)).toBe('10,6');
    expect(sparkline([], 10, 10)).toBe('');
  });
});

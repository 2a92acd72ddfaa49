import { describe, expect, it } from 'vitest';
import { age, table } from './format.js';
import { asQueuesAnswer, queuesTable } from './queues-view.js';

const row = (name: string, depth: number, oldest: number | null) => ({
  name,
  weight: 1,
  depth,
  delayed: 0,
  in_flight: 1,
  dead_letters: 2,
  oldest_waiting_seconds: oldest,
  completed_last_minute: 5,
  failed_last_minute: 1,
});

describe('the queue table of openhqm top', () => {
  it('aligns numbers right, adds a totals row for several queues, and says what the minute counts cover', () => {
    const lines = queuesTable({ queues: [row('default', 3, 2.5), row('high', 12, 75)], window: { seconds: 60, scope: 'deployment' } });
    expect(lines[0]).toMatch(/^QUEUE\s+DEPTH\s+DELAYED/);
    expect(lines[1]).toMatch(/^default\s+3\s+0\s+1\s+2\s+2\.5s\s+5\s+1\s+1$/);
    expect(lines[2]).toMatch(/^high\s+12\s+0\s+1\s+2\s+1m15s\s+5\s+1\s+1$/);
    // The oldest wait of all is the largest; counts add up.
    expect(lines[3]).toMatch(/^\(all\)\s+15\s+0\s+2\s+4\s+1m15s\s+10\s+2$/);
    // Right-aligned: the DEPTH column ends at the same place on every line.
    const depthEnd = (line: string) => line.indexOf('DEPTH') + 'DEPTH'.length;
    expect(lines[1]!.slice(0, depthEnd(lines[0]!))).toMatch(/ 3$/);
    expect(lines.at(-1)).toMatch(/every process sharing the result store/);
  });

  it('one queue has no totals row; a process-scoped window says so', () => {
    const lines = queuesTable({ queues: [row('default', 0, null)], window: { seconds: 60, scope: 'process' } });
    expect(lines.filter((l) => l.startsWith('(all)'))).toEqual([]);
    expect(lines[1]).toMatch(/^default\s+0\s+0\s+1\s+2\s+-\s/);
    expect(lines.at(-1)).toMatch(/answering process only/);
  });

  it('refuses an answer that is not a queue list', () => {
    expect(asQueuesAnswer({ status: 'alive' })).toBeUndefined();
    expect(asQueuesAnswer({ queues: [{ name: 'x' }] })).toBeUndefined();
    expect(asQueuesAnswer(null)).toBeUndefined();
    expect(asQueuesAnswer({ queues: [row('a', 1, null)] })?.queues).toHaveLength(1);
  });

  it('formats ages and pads tables', () => {
    expect([age(null), age(0.42), age(12.9), age(185), age(7800)]).toEqual(['-', '0.4s', '12s', '3m05s', '2h10m']);
    expect(table(['A', 'NUM'], [['long-name', '7']], new Set([1]))).toEqual(['A          NUM', 'long-name    7']);
  });
});

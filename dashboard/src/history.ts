/**
 * The last few minutes of the live queue table, kept by the page from the snapshots the stream
 * sends, for the sparklines beside each queue. Pure: unit-tested in history.test.ts.
 *
 * @module
 */
import type { QueueTable } from './api.js';

export interface Sample {
  readonly at: number;
  readonly depth: number;
  readonly inFlight: number;
  readonly completedPerMinute: number;
  readonly failedPerMinute: number;
}

/** Samples per queue name, oldest first. */
export type QueueHistory = ReadonlyMap<string, readonly Sample[]>;

/** Enough for five minutes at the default interval of two seconds. */
export const HISTORY_SAMPLES = 150;

/** The history with `table` added at `at`; each queue keeps at most `max` samples. Queues no longer listed are dropped. */
export function addSnapshot(history: QueueHistory, table: QueueTable, at: number, max = HISTORY_SAMPLES): QueueHistory {
  const next = new Map<string, readonly Sample[]>();
  for (const q of table.queues) {
    const sample: Sample = { at, depth: q.depth, inFlight: q.in_flight, completedPerMinute: q.completed_last_minute, failedPerMinute: q.failed_last_minute };
    const before = history.get(q.name) ?? [];
    next.set(q.name, [...before.slice(Math.max(0, before.length - max + 1)), sample]);
  }
  return next;
}

/**
 * The points of an SVG polyline drawing `values` left to right in a `width` × `height` box,
 * the largest at the top (at least `floor`, so a flat line of small numbers stays low).
 */
export function sparkline(values: readonly number[], width: number, height: number, floor = 1): string {
  if (values.length === 0) return '';
  const top = Math.max(floor, ...values);
  const step = values.length === 1 ? 0 : width / (values.length - 1);
  const pad = 1;
  return values
    .map((v, i) => {
      const x = values.length === 1 ? width : i * step;
      const y = pad + (height - 2 * pad) * (1 - v / top);
      return `${round(x)},${round(y)}`;
    })
    .join(' ');
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

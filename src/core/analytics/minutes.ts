/**
 * The "last minute" counts of `GET /api/v1/queues` as data: completed and failed requests per
 * (minute, queue), kept only a few minutes, and the sliding 60-second window read over them.
 *
 * Like the hourly rows (hourly.ts) these are counters every process only adds to, so a shared
 * store sums what every worker of the deployment finished without a read first. Minutes are
 * UTC minute starts of the clock of the process that saw the outcome.
 *
 * @module
 */

export const MINUTE_MS = 60_000;

/** The window `GET /api/v1/queues` answers for. */
export const RECENT_WINDOW_MS = 60_000;

/**
 * How long a minute's counts are kept once the minute has ended. The window needs only the
 * current and the previous minute; the rest is slack for a late flush (a write retried after an
 * outage) and for clocks of processes that disagree by a little.
 */
export const MINUTE_COUNTS_KEPT_MS = 5 * MINUTE_MS;

/** Completed and failed requests of one queue in one minute (a delta when added, a total when read). */
export interface MinuteCount {
  /** Start of the minute, epoch ms (a multiple of MINUTE_MS). */
  readonly minute: number;
  readonly queue: string;
  readonly completed: number;
  /** FAILED and TIMEOUT: the request ended without a result. */
  readonly failed: number;
}

export type MinuteOutcome = 'completed' | 'failed';

export function minuteOf(at: number): number {
  return Math.floor(at / MINUTE_MS) * MINUTE_MS;
}

/** The instant a minute's counts are forgotten. */
export function minuteKeptUntil(minute: number): number {
  return minute + MINUTE_MS + MINUTE_COUNTS_KEPT_MS;
}

/** The oldest minute start a store still answers for at `now` (older rows are forgotten). */
export function oldestKeptMinute(now: number): number {
  return minuteOf(now - MINUTE_COUNTS_KEPT_MS);
}

/**
 * Counts not yet written, keyed by (minute, queue); the minute-sized sibling of
 * HourlyAccumulator, with the same take / restore protocol for the recorder's flush.
 */
export class MinuteAccumulator {
  /** minute → queue → row: an event finds its row without building a key. */
  readonly #minutes = new Map<number, Map<string, { minute: number; queue: string; completed: number; failed: number }>>();

  count(at: number, queue: string, outcome: MinuteOutcome, n = 1): void {
    this.#add(minuteOf(at), queue, outcome === 'completed' ? n : 0, outcome === 'failed' ? n : 0);
  }

  get size(): number {
    let rows = 0;
    for (const queues of this.#minutes.values()) rows += queues.size;
    return rows;
  }

  take(): MinuteCount[] {
    const rows = [...this.#minutes.values()].flatMap((queues) => [...queues.values()]);
    this.#minutes.clear();
    return rows;
  }

  restore(counts: readonly MinuteCount[]): void {
    for (const c of counts) this.#add(c.minute, c.queue, c.completed, c.failed);
  }

  #add(minute: number, queue: string, completed: number, failed: number): void {
    let queues = this.#minutes.get(minute);
    if (queues === undefined) {
      queues = new Map();
      this.#minutes.set(minute, queues);
    }
    const row = queues.get(queue);
    if (row === undefined) queues.set(queue, { minute, queue, completed, failed });
    else {
      row.completed += completed;
      row.failed += failed;
    }
  }
}

/** Where the window starts: the minute the 60 s before `now` begin in. */
export function recentWindowSince(now: number): number {
  return minuteOf(now - RECENT_WINDOW_MS);
}

/**
 * Completed and failed per queue in the 60 s before `now`, from minute rows: the current minute
 * counts whole, the previous one weighted by the share of it inside the window, older ones not
 * at all (a minute ahead of ours, from a process whose clock runs fast, counts as current). An
 * approximation: it assumes the previous minute's outcomes were spread evenly over it, so a
 * burst early in that minute is over-counted and one late in it under-counted. Rounded to whole
 * requests.
 */
export function recentCounts(rows: readonly MinuteCount[], now: number): Map<string, { completed: number; failed: number }> {
  const current = minuteOf(now);
  const previousWeight = (current + MINUTE_MS - now) / MINUTE_MS;
  const sums = new Map<string, { completed: number; failed: number }>();
  for (const row of rows) {
    const weight = row.minute >= current ? 1 : row.minute === current - MINUTE_MS ? previousWeight : 0;
    if (weight === 0) continue;
    let sum = sums.get(row.queue);
    if (sum === undefined) sums.set(row.queue, (sum = { completed: 0, failed: 0 }));
    sum.completed += row.completed * weight;
    sum.failed += row.failed * weight;
  }
  for (const sum of sums.values()) {
    sum.completed = Math.round(sum.completed);
    sum.failed = Math.round(sum.failed);
  }
  return sums;
}

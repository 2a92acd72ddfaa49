/**
 * Hourly analytics in this process's memory (the reference AnalyticsStore): a map of
 * (hour, queue) rows, pruned of rows past their retention on every add; and the same for the
 * few minutes of (minute, queue) counts.
 *
 * @module
 */
import { HOUR_MS, type HourlyDelta } from '../../../core/analytics/hourly.js';
import { minuteKeptUntil, type MinuteCount } from '../../../core/analytics/minutes.js';
import type { AnalyticsQuery, AnalyticsStore } from '../../../ports/analytics-store.js';

interface Row {
  readonly hour: number;
  readonly queue: string;
  readonly fields: Map<string, number>;
  /** The row is forgotten at this instant (its hour's end plus the retention). */
  keepUntil: number;
}

export class MemoryAnalytics implements AnalyticsStore {
  readonly #rows = new Map<string, Row>();
  readonly #minutes = new Map<string, { minute: number; queue: string; completed: number; failed: number }>();

  constructor(private readonly assertOpen: () => void) {}

  async add(deltas: readonly HourlyDelta[], retentionMs: number): Promise<void> {
    this.assertOpen();
    const now = Date.now();
    for (const delta of deltas) {
      const keepUntil = delta.hour + HOUR_MS + retentionMs;
      if (keepUntil <= now) continue;
      const key = `${delta.hour}\0${delta.queue}`;
      let row = this.#rows.get(key);
      if (row === undefined) {
        row = { hour: delta.hour, queue: delta.queue, fields: new Map(), keepUntil };
        this.#rows.set(key, row);
      }
      row.keepUntil = keepUntil;
      for (const [field, n] of Object.entries(delta.fields)) row.fields.set(field, (row.fields.get(field) ?? 0) + n);
    }
    // Rows are hours × queues: a pass over them per flush is cheap, and keeps the map bounded.
    for (const [key, row] of this.#rows) if (row.keepUntil <= now) this.#rows.delete(key);
  }

  async read(query: AnalyticsQuery): Promise<readonly HourlyDelta[]> {
    this.assertOpen();
    const now = Date.now();
    const queue = query.queue ?? null;
    const rows: HourlyDelta[] = [];
    for (const row of this.#rows.values()) {
      if (row.hour < query.since || row.hour >= query.until || row.keepUntil <= now) continue;
      if (queue !== null && row.queue !== queue) continue;
      rows.push({ hour: row.hour, queue: row.queue, fields: Object.fromEntries(row.fields) });
    }
    return rows;
  }

  async addMinutes(counts: readonly MinuteCount[]): Promise<void> {
    this.assertOpen();
    const now = Date.now();
    for (const c of counts) {
      if (minuteKeptUntil(c.minute) <= now) continue;
      const key = `${c.minute}\0${c.queue}`;
      const row = this.#minutes.get(key);
      if (row === undefined) this.#minutes.set(key, { minute: c.minute, queue: c.queue, completed: c.completed, failed: c.failed });
      else {
        row.completed += c.completed;
        row.failed += c.failed;
      }
    }
    // A few minutes × queues: a pass per flush keeps the map bounded.
    for (const [key, row] of this.#minutes) if (minuteKeptUntil(row.minute) <= now) this.#minutes.delete(key);
  }

  async minutes(since: number): Promise<readonly MinuteCount[]> {
    this.assertOpen();
    const now = Date.now();
    const rows: MinuteCount[] = [];
    for (const row of this.#minutes.values()) if (row.minute >= since && minuteKeptUntil(row.minute) > now) rows.push({ ...row });
    return rows;
  }
}

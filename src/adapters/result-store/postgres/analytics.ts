/**
 * Hourly analytics in PostgreSQL: one row per (hour, queue, field) whose count each add
 * increases with one upsert statement for all its deltas (so they land together, and every
 * process adds to the same rows). Rows carry the instant they are forgotten (`keep_until`);
 * reads skip rows past it and each add deletes them through an index.
 *
 * @module
 */
import { HOUR_MS, type HourlyDelta } from '../../../core/analytics/hourly.js';
import { MINUTE_COUNTS_KEPT_MS, MINUTE_MS, type MinuteCount } from '../../../core/analytics/minutes.js';
import type { AnalyticsQuery, AnalyticsStore } from '../../../ports/analytics-store.js';
import type { PgDatabase } from '../../shared/postgres/database.js';
import { ANALYTICS_ADD, ANALYTICS_PRUNE, ANALYTICS_READ, MINUTES_ADD, MINUTES_PRUNE, MINUTES_READ } from '../../shared/postgres/sql.js';

/**
 * Queue names as stored: PostgreSQL text cannot hold NUL, and analytics keeps any name as it is,
 * so `\` and NUL are escaped (`\\`, `\0`) — reversible, and the identity for every usual name.
 */
export function encodeName(name: string): string {
  return /[\\\0]/.test(name) ? name.replace(/[\\\0]/g, (c) => (c === '\0' ? '\\0' : '\\\\')) : name;
}

export function decodeName(stored: string): string {
  return stored.includes('\\') ? stored.replace(/\\(.)/g, (_, c: string) => (c === '0' ? '\0' : c)) : stored;
}

export class PostgresAnalytics implements AnalyticsStore {
  constructor(
    private readonly db: PgDatabase,
    private readonly assertOpen: () => void,
  ) {}

  async add(deltas: readonly HourlyDelta[], retentionMs: number): Promise<void> {
    this.assertOpen();
    const now = Date.now();
    // Summed per key first: one upsert may not touch a row twice. Sorted, so concurrent adds
    // lock their rows in one order and cannot deadlock.
    const sums = new Map<string, { hour: number; queue: string; field: string; n: number; keepUntil: number }>();
    for (const delta of deltas) {
      const keepUntil = delta.hour + HOUR_MS + retentionMs;
      if (keepUntil <= now) continue;
      for (const [field, n] of Object.entries(delta.fields)) {
        const key = JSON.stringify([delta.hour, delta.queue, field]);
        const sum = sums.get(key);
        if (sum === undefined) sums.set(key, { hour: delta.hour, queue: delta.queue, field, n, keepUntil });
        else sum.n += n;
      }
    }
    const rows = [...sums.values()].sort((a, b) => a.hour - b.hour || (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0) || (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
    if (rows.length > 0) {
      await this.db.query('adding analytics', ANALYTICS_ADD, [
        rows.map((r) => r.hour),
        rows.map((r) => encodeName(r.queue)),
        rows.map((r) => r.field),
        rows.map((r) => r.n),
        rows.map((r) => r.keepUntil),
      ]);
    }
    await this.db.query('pruning analytics', ANALYTICS_PRUNE, [now]);
  }

  async read(query: AnalyticsQuery): Promise<readonly HourlyDelta[]> {
    this.assertOpen();
    const rows = await this.db.query<{ hour: number; queue: string; field: string; n: number }>('reading analytics', ANALYTICS_READ, [
      query.since,
      query.until,
      Date.now(),
      query.queue === undefined || query.queue === null ? null : encodeName(query.queue),
    ]);
    const byKey = new Map<string, { hour: number; queue: string; fields: Record<string, number> }>();
    for (const stored of rows) {
      const row = { ...stored, queue: decodeName(stored.queue) };
      const key = `${row.hour}\0${row.queue}`;
      let delta = byKey.get(key);
      if (delta === undefined) byKey.set(key, (delta = { hour: row.hour, queue: row.queue, fields: {} }));
      delta.fields[row.field] = row.n;
    }
    return [...byKey.values()];
  }

  async addMinutes(counts: readonly MinuteCount[]): Promise<void> {
    this.assertOpen();
    const cutoff = minuteCutoff(Date.now());
    // Summed per key and sorted, as in add: one upsert touches a row once, in one lock order.
    const sums = new Map<string, { minute: number; queue: string; completed: number; failed: number }>();
    for (const c of counts) {
      if (c.minute <= cutoff) continue;
      const key = `${c.minute}\0${c.queue}`;
      const sum = sums.get(key);
      if (sum === undefined) sums.set(key, { minute: c.minute, queue: c.queue, completed: c.completed, failed: c.failed });
      else {
        sum.completed += c.completed;
        sum.failed += c.failed;
      }
    }
    const rows = [...sums.values()].sort((a, b) => a.minute - b.minute || (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0));
    if (rows.length > 0) {
      await this.db.query('adding minute counts', MINUTES_ADD, [rows.map((r) => r.minute), rows.map((r) => encodeName(r.queue)), rows.map((r) => r.completed), rows.map((r) => r.failed)]);
    }
    await this.db.query('pruning minute counts', MINUTES_PRUNE, [cutoff]);
  }

  async minutes(since: number): Promise<readonly MinuteCount[]> {
    this.assertOpen();
    const rows = await this.db.query<MinuteCount>('reading minute counts', MINUTES_READ, [since, minuteCutoff(Date.now())]);
    return rows.map((r) => ({ ...r, queue: decodeName(r.queue) }));
  }
}

/** Minutes at or before this have been kept long enough (see MINUTE_COUNTS_KEPT_MS). */
function minuteCutoff(now: number): number {
  return now - MINUTE_MS - MINUTE_COUNTS_KEPT_MS;
}

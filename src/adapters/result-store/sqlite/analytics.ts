/**
 * Hourly analytics in the SQLite file: one row per (hour, queue, field) whose count each add
 * increases with an upsert, inside the group commit (so a flush costs no commit of its own, and
 * every process on the file adds to the same rows). Rows carry the instant they are forgotten
 * (`keep_until`, the same for every field of an hour); reads skip rows past it and each add
 * deletes them through an index, so neither ever scans request records.
 *
 * The per-minute counts (core/analytics/minutes.ts) are a second small table, one row per
 * (minute, queue), upserted the same way; its primary key leads with the minute, so the delete
 * of minutes past keeping that every addMinutes runs (in the same commit) walks that index only.
 *
 * @module
 */
import type { Database, Statement } from 'better-sqlite3';
import { HOUR_MS, type HourlyDelta } from '../../../core/analytics/hourly.js';
import { MINUTE_COUNTS_KEPT_MS, MINUTE_MS, type MinuteCount } from '../../../core/analytics/minutes.js';
import type { AnalyticsQuery, AnalyticsStore } from '../../../ports/analytics-store.js';
import type { SqliteHandle } from '../../shared/sqlite/database.js';

/** The analytics table; created with the store's other tables (schema.ts calls it). */
export function createAnalyticsTable(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS hqm_analytics (
      hour       INTEGER NOT NULL,
      queue      TEXT    NOT NULL,
      field      TEXT    NOT NULL,
      n          INTEGER NOT NULL,
      keep_until INTEGER NOT NULL,
      PRIMARY KEY (hour, queue, field)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS hqm_analytics_retention ON hqm_analytics (keep_until);
    CREATE TABLE IF NOT EXISTS hqm_analytics_minutes (
      minute    INTEGER NOT NULL,
      queue     TEXT    NOT NULL,
      completed INTEGER NOT NULL,
      failed    INTEGER NOT NULL,
      PRIMARY KEY (minute, queue)
    ) WITHOUT ROWID;
  `);
}

interface Row {
  readonly hour: number;
  readonly queue: string;
  readonly field: string;
  readonly n: number;
}

interface Statements {
  readonly add: Statement<{ hour: number; queue: string; field: string; n: number; keep_until: number }>;
  readonly prune: Statement<{ now: number }>;
  readonly range: Statement<{ since: number; until: number; now: number }, Row>;
  readonly rangeOfQueue: Statement<{ since: number; until: number; now: number; queue: string }, Row>;
  readonly addMinute: Statement<MinuteCount>;
  readonly pruneMinutes: Statement<{ cutoff: number }>;
  readonly minutes: Statement<{ since: number; cutoff: number }, MinuteCount>;
}

/** Minutes at or before this are past keeping at `now` (core/analytics/minutes.ts minuteKeptUntil). */
function minuteCutoff(now: number): number {
  return now - MINUTE_MS - MINUTE_COUNTS_KEPT_MS;
}

const ATOMIC = { atomic: true } as const;

export class SqliteAnalytics implements AnalyticsStore {
  readonly #stmts: Statements;

  constructor(
    private readonly handle: SqliteHandle,
    private readonly assertOpen: () => void,
  ) {
    const db = handle.db;
    this.#stmts = {
      add: db.prepare(
        `INSERT INTO hqm_analytics (hour, queue, field, n, keep_until) VALUES (:hour, :queue, :field, :n, :keep_until)
         ON CONFLICT (hour, queue, field) DO UPDATE SET n = n + excluded.n, keep_until = excluded.keep_until`,
      ),
      prune: db.prepare('DELETE FROM hqm_analytics WHERE keep_until <= :now'),
      range: db.prepare('SELECT hour, queue, field, n FROM hqm_analytics WHERE hour >= :since AND hour < :until AND keep_until > :now'),
      rangeOfQueue: db.prepare('SELECT hour, queue, field, n FROM hqm_analytics WHERE hour >= :since AND hour < :until AND queue = :queue AND keep_until > :now'),
      addMinute: db.prepare(
        `INSERT INTO hqm_analytics_minutes (minute, queue, completed, failed) VALUES (:minute, :queue, :completed, :failed)
         ON CONFLICT (minute, queue) DO UPDATE SET completed = completed + excluded.completed, failed = failed + excluded.failed`,
      ),
      pruneMinutes: db.prepare('DELETE FROM hqm_analytics_minutes WHERE minute <= :cutoff'),
      minutes: db.prepare('SELECT minute, queue, completed, failed FROM hqm_analytics_minutes WHERE minute >= :since AND minute > :cutoff'),
    };
  }

  async add(deltas: readonly HourlyDelta[], retentionMs: number): Promise<void> {
    this.assertOpen();
    // One savepoint: the deltas of a flush land together or not at all.
    await this.handle.commit.run(() => {
      const now = Date.now();
      for (const delta of deltas) {
        const keepUntil = delta.hour + HOUR_MS + retentionMs;
        if (keepUntil <= now) continue;
        for (const [field, n] of Object.entries(delta.fields)) this.#stmts.add.run({ hour: delta.hour, queue: delta.queue, field, n, keep_until: keepUntil });
      }
      this.#stmts.prune.run({ now });
    }, ATOMIC);
  }

  async read(query: AnalyticsQuery): Promise<readonly HourlyDelta[]> {
    this.assertOpen();
    const args = { since: query.since, until: query.until, now: Date.now() };
    const queue = query.queue ?? null;
    const rows = this.handle.read(() => (queue === null ? this.#stmts.range.all(args) : this.#stmts.rangeOfQueue.all({ ...args, queue })));
    const byKey = new Map<string, { hour: number; queue: string; fields: Record<string, number> }>();
    for (const row of rows) {
      const key = `${row.hour}\0${row.queue}`;
      let delta = byKey.get(key);
      if (delta === undefined) byKey.set(key, (delta = { hour: row.hour, queue: row.queue, fields: {} }));
      delta.fields[row.field] = row.n;
    }
    return [...byKey.values()];
  }

  async addMinutes(counts: readonly MinuteCount[]): Promise<void> {
    this.assertOpen();
    await this.handle.commit.run(() => {
      const cutoff = minuteCutoff(Date.now());
      for (const c of counts) {
        if (c.minute <= cutoff) continue;
        this.#stmts.addMinute.run({ minute: c.minute, queue: c.queue, completed: c.completed, failed: c.failed });
      }
      this.#stmts.pruneMinutes.run({ cutoff });
    }, ATOMIC);
  }

  async minutes(since: number): Promise<readonly MinuteCount[]> {
    this.assertOpen();
    const args = { since, cutoff: minuteCutoff(Date.now()) };
    return this.handle.read(() => this.#stmts.minutes.all(args));
  }
}

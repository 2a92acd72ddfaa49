/**
 * AnalyticsStore: the hourly counters behind `GET /api/v1/stats`, kept by the result store's
 * backend (`ResultStore.analytics`), so they are shared wherever records are (a SQLite file,
 * Redis, Redis Cluster) and per process on memory. The contract, checked by
 * src/conformance/result-store.ts on every adapter:
 *
 * - **Add, never overwrite.** `add` adds each delta to the (hour, queue, field) counter,
 *   creating it at zero; concurrent adds from any number of processes sum exactly (no
 *   read-modify-write outside the store's own atomic step), and the deltas of one call land
 *   whole or not at all per (hour, queue).
 * - **Read what was added.** `read` answers every (hour, queue) row with an hour in
 *   [since, until), only `queue`'s when given, with each field's total; fields never added are
 *   absent (read as zero).
 * - **Retention.** A row is forgotten once `retentionMs` has passed since its hour ended (the
 *   retention of the `add` that last touched it); one already past that is not kept at all.
 *   Forgetting costs no scan of request records: rows are few (hours × queues).
 *
 * Beside the hours, per-minute counts of completed and failed requests feed the "last minute"
 * of `GET /api/v1/queues` (core/analytics/minutes.ts; src/conformance/analytics-store.ts):
 *
 * - **Add, never overwrite**, as above: `addMinutes` adds to the (minute, queue) counts, and
 *   any number of processes' adds sum exactly.
 * - **Read the minutes asked for.** `minutes(since)` answers every (minute, queue) row with a
 *   minute at or after `since` (a minute start), with its totals; none older.
 * - **Kept a few minutes.** A minute is forgotten once `MINUTE_COUNTS_KEPT_MS` has passed since
 *   it ended, and one already past that is not kept at all; the store forgets by itself (an
 *   index, an expiry), so the rows stay few whatever the traffic.
 *
 * @module
 */
import type { HourlyDelta } from '../core/analytics/hourly.js';
import type { MinuteCount } from '../core/analytics/minutes.js';
import type { MethodNames } from './members.js';

export interface AnalyticsQuery {
  /** Hour start (epoch ms), inclusive. */
  readonly since: number;
  /** Epoch ms, exclusive. */
  readonly until: number;
  /** Only this queue's rows; every queue's when absent or null. */
  readonly queue?: string | null;
}

export interface AnalyticsStore {
  /** Adds the deltas to the hourly counters, and forgets rows older than `retentionMs` after their hour. */
  add(deltas: readonly HourlyDelta[], retentionMs: number): Promise<void>;
  /** The rows of [since, until), one per (hour, queue), with every field added to them. */
  read(query: AnalyticsQuery): Promise<readonly HourlyDelta[]>;
  /** Adds completed and failed counts per (minute, queue), and forgets minutes past keeping. */
  addMinutes(counts: readonly MinuteCount[]): Promise<void>;
  /** The (minute, queue) rows with a minute at or after `since` (epoch ms), with their totals. */
  minutes(since: number): Promise<readonly MinuteCount[]>;
}

/** Every method of AnalyticsStore, which a custom store's `analytics` must have (D280). */
export const ANALYTICS_STORE_METHODS = Object.keys({
  add: 0,
  read: 0,
  addMinutes: 0,
  minutes: 0,
} satisfies Record<MethodNames<AnalyticsStore>, 0>) as ReadonlyArray<MethodNames<AnalyticsStore>>;

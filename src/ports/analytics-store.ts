/**
 * AnalyticsStore: the hourly counters behind `GET /api/v1/stats`, kept by the result store's
 * backend (`ResultStore.analytics`), so they are shared wherever records are (a SQLite file,
 * Redis, Redis Cluster) and per process on memory. The contract, checked by
 * test/conformance/result-store.ts on every adapter:
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
 * @module
 */
import type { HourlyDelta } from '../core/analytics/hourly.js';

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
}

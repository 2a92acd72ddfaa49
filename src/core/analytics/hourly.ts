/**
 * Hourly analytics as data: what is counted per (hour, queue), how events become counter
 * deltas, and how stored rows become the per-hour summary `GET /api/v1/stats` answers.
 *
 * A row is a flat set of named integer counters (`HourlyFields`): the six outcome counts, two
 * histograms of fixed buckets (`wait_b<i>`, `processing_b<i>`, see histogram.ts) and their sums.
 * Stores only ever add deltas to counters, so every process can write its own deltas to a shared
 * store without reading first, and a row never needs a scan of request records.
 *
 * @module
 */
import { BUCKET_COUNT, bucketOf, quantile } from './histogram.js';

export const HOUR_MS = 3_600_000;

/** The outcome counters of an hour, in the order the API lists them. */
export const COUNTERS = ['submitted', 'completed', 'failed', 'timed_out', 'cancelled', 'dead_lettered'] as const;
export type Counter = (typeof COUNTERS)[number];

/** The two latency distributions: queue wait (due → claimed) and processing time (one attempt). */
export const SERIES = ['wait', 'processing'] as const;
export type Series = (typeof SERIES)[number];

/** Counter name → amount. Names are COUNTERS, `<series>_b<bucket>` and `<series>_sum_ms`. */
export type HourlyFields = Readonly<Record<string, number>>;

/** What one (hour, queue) gained, or holds in total when read back. */
export interface HourlyDelta {
  /** Start of the hour, epoch milliseconds (a multiple of HOUR_MS). */
  readonly hour: number;
  readonly queue: string;
  readonly fields: HourlyFields;
}

/** The field of bucket `index` of `series`. */
export function bucketField(series: Series, index: number): string {
  return `${series}_b${index}`;
}

export function sumField(series: Series): string {
  return `${series}_sum_ms`;
}

/** Every field name a row may hold: a store may check names against it. */
export const FIELD_NAMES: ReadonlySet<string> = new Set([
  ...COUNTERS,
  ...SERIES.flatMap((series) => [sumField(series), ...Array.from({ length: BUCKET_COUNT }, (_, i) => bucketField(series, i))]),
]);

/** The start of the hour `at` falls in (UTC: hours are the same everywhere but in a few time zones). */
export function hourOf(at: number): number {
  return Math.floor(at / HOUR_MS) * HOUR_MS;
}

/**
 * Deltas not yet written, keyed by (hour, queue). Pure and synchronous: the recorder feeds it
 * events and periodically `take`s what accumulated; a write that failed is `restore`d, so
 * nothing is lost to a backend outage (rows add up, so the order of writes does not matter).
 */
export class HourlyAccumulator {
  /** hour → queue → fields: an event finds its row without building a key (one per event adds up at thousands a second). */
  readonly #hours = new Map<number, Map<string, Map<string, number>>>();

  /** Counts one outcome at `at`. */
  count(at: number, queue: string, counter: Counter, n = 1): void {
    this.#add(at, queue, counter, n);
  }

  /** Adds one latency sample (ms) at `at`. */
  observe(at: number, queue: string, series: Series, ms: number): void {
    const value = Math.max(0, Math.round(ms));
    const fields = this.#fields(at, queue);
    const bucket = BUCKET_FIELDS[series][bucketOf(value)] as string;
    fields.set(bucket, (fields.get(bucket) ?? 0) + 1);
    const sum = SUM_FIELDS[series];
    fields.set(sum, (fields.get(sum) ?? 0) + value);
  }

  /** Rows waiting to be written. */
  get size(): number {
    let rows = 0;
    for (const queues of this.#hours.values()) rows += queues.size;
    return rows;
  }

  /** Everything accumulated since the last take, and forgets it. */
  take(): HourlyDelta[] {
    const rows: HourlyDelta[] = [];
    for (const [hour, queues] of this.#hours) for (const [queue, fields] of queues) rows.push({ hour, queue, fields: Object.fromEntries(fields) });
    this.#hours.clear();
    return rows;
  }

  /** Puts back deltas whose write failed, adding to what accumulated meanwhile. */
  restore(deltas: readonly HourlyDelta[]): void {
    for (const delta of deltas) for (const [field, n] of Object.entries(delta.fields)) this.#add(delta.hour, delta.queue, field, n);
  }

  #add(at: number, queue: string, field: string, n: number): void {
    const fields = this.#fields(at, queue);
    fields.set(field, (fields.get(field) ?? 0) + n);
  }

  #fields(at: number, queue: string): Map<string, number> {
    const hour = hourOf(at);
    let queues = this.#hours.get(hour);
    if (queues === undefined) {
      queues = new Map();
      this.#hours.set(hour, queues);
    }
    let fields = queues.get(queue);
    if (fields === undefined) {
      fields = new Map();
      queues.set(queue, fields);
    }
    return fields;
  }
}

/** The field names of every bucket and sum, made once. */
const BUCKET_FIELDS: Readonly<Record<Series, readonly string[]>> = {
  wait: Array.from({ length: BUCKET_COUNT }, (_, i) => bucketField('wait', i)),
  processing: Array.from({ length: BUCKET_COUNT }, (_, i) => bucketField('processing', i)),
};
const SUM_FIELDS: Readonly<Record<Series, string>> = { wait: sumField('wait'), processing: sumField('processing') };

/** A latency distribution of one hour, in milliseconds; the quantiles are null without samples. */
export interface Distribution {
  readonly count: number;
  readonly mean: number | null;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

export interface HourSummary extends Readonly<Record<Counter, number>> {
  readonly hour: number;
  readonly wait: Distribution;
  readonly processing: Distribution;
}

/**
 * One summary per hour from `since` (an hour start) up to `until` (exclusive), empty hours
 * included, adding up the rows of every queue given (the store has already filtered by queue).
 */
export function summarize(rows: readonly HourlyDelta[], since: number, until: number): HourSummary[] {
  const byHour = new Map<number, Map<string, number>>();
  for (const row of rows) {
    if (row.hour < since || row.hour >= until) continue;
    let fields = byHour.get(row.hour);
    if (fields === undefined) byHour.set(row.hour, (fields = new Map<string, number>()));
    for (const [field, n] of Object.entries(row.fields)) fields.set(field, (fields.get(field) ?? 0) + n);
  }
  const hours: HourSummary[] = [];
  for (let hour = hourOf(since); hour < until; hour += HOUR_MS) {
    const fields = byHour.get(hour) ?? new Map<string, number>();
    const counts = Object.fromEntries(COUNTERS.map((c) => [c, fields.get(c) ?? 0])) as Record<Counter, number>;
    hours.push({ hour, ...counts, wait: distribution(fields, 'wait'), processing: distribution(fields, 'processing') });
  }
  return hours;
}

function distribution(fields: ReadonlyMap<string, number>, series: Series): Distribution {
  const counts = Array.from({ length: BUCKET_COUNT }, (_, i) => fields.get(bucketField(series, i)) ?? 0);
  const count = counts.reduce((sum, n) => sum + n, 0);
  const round = (value: number | null): number | null => (value === null ? null : Math.round(value * 10) / 10);
  return {
    count,
    mean: count === 0 ? null : round((fields.get(sumField(series)) ?? 0) / count),
    p50: round(quantile(counts, 0.5)),
    p95: round(quantile(counts, 0.95)),
    p99: round(quantile(counts, 0.99)),
  };
}

/** The whole of [since, until) as one summary (`hour` is `since`): the hours' counts and histograms added up. */
export function summarizeTotal(rows: readonly HourlyDelta[], since: number, until: number): HourSummary {
  const start = hourOf(since);
  const inRange = rows.filter((row) => row.hour >= since && row.hour < until).map((row) => ({ ...row, hour: start }));
  return summarize(inRange, start, start + HOUR_MS)[0] as HourSummary;
}

/**
 * Fixed-bucket latency histograms for the hourly analytics: a sample is one integer added to one
 * bucket, so histograms from any number of processes and flushes merge by adding counts, and a
 * store keeps them as plain counters. Quantiles are estimated from the buckets.
 *
 * The bounds are part of the stored format (a bucket is kept by its index): never change or
 * reorder them, only append above the last one.
 *
 * @module
 */

/**
 * Upper bounds (inclusive, milliseconds) of the buckets: 1, 1.5, 2, 3, 5, 7 per decade from 1 ms
 * to 70,000 s, then 100,000 s (about 28 h). Neighbours differ by at most 1.67×, so an estimate
 * lies between two bounds that close; the last bucket (index BUCKET_BOUNDS_MS.length) holds
 * everything above the last bound.
 */
export const BUCKET_BOUNDS_MS: readonly number[] = Object.freeze(
  [...[1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000].flatMap((decade) => [1, 1.5, 2, 3, 5, 7].map((step) => decade * step)), 100_000_000],
);

/** Number of buckets, the overflow bucket included. */
export const BUCKET_COUNT = BUCKET_BOUNDS_MS.length + 1;

/** The bucket of a duration: the first whose bound is at least `ms` (negative counts as 0). */
export function bucketOf(ms: number): number {
  const value = Number.isFinite(ms) ? Math.max(0, ms) : ms > 0 ? Infinity : 0;
  // Binary search: the first bound >= value.
  let low = 0;
  let high = BUCKET_BOUNDS_MS.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((BUCKET_BOUNDS_MS[mid] as number) < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * The `q` quantile (0..1) of the samples counted in `counts` (by bucket index), interpolated
 * linearly inside its bucket as Prometheus' histogram_quantile does; a quantile that falls in
 * the overflow bucket is reported as the last bound (a lower bound of the truth). Null without
 * samples.
 */
export function quantile(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((sum, n) => sum + n, 0);
  if (total <= 0) return null;
  const rank = Math.min(1, Math.max(0, q)) * total;
  let below = 0;
  for (let i = 0; i < counts.length; i += 1) {
    const n = counts[i] ?? 0;
    if (n > 0 && below + n >= rank) {
      if (i >= BUCKET_BOUNDS_MS.length) return BUCKET_BOUNDS_MS[BUCKET_BOUNDS_MS.length - 1] as number;
      const lower = i === 0 ? 0 : (BUCKET_BOUNDS_MS[i - 1] as number);
      const upper = BUCKET_BOUNDS_MS[i] as number;
      return lower + (upper - lower) * ((rank - below) / n);
    }
    below += n;
  }
  return BUCKET_BOUNDS_MS[BUCKET_BOUNDS_MS.length - 1] as number;
}

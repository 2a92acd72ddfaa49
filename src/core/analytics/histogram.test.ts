import { describe, expect, it } from 'vitest';
import { BUCKET_BOUNDS_MS, BUCKET_COUNT, bucketOf, quantile } from './histogram.js';

describe('histogram buckets', () => {
  it('are fixed: the stored format depends on every bound keeping its index', () => {
    expect(BUCKET_BOUNDS_MS.slice(0, 8)).toEqual([1, 1.5, 2, 3, 5, 7, 10, 15]);
    expect(BUCKET_BOUNDS_MS.at(-1)).toBe(100_000_000);
    expect(BUCKET_COUNT).toBe(50);
    expect(Object.isFrozen(BUCKET_BOUNDS_MS)).toBe(true);
  });

  it('rise by at most 1.67× from one to the next', () => {
    for (let i = 1; i < BUCKET_BOUNDS_MS.length; i += 1) {
      const ratio = (BUCKET_BOUNDS_MS[i] as number) / (BUCKET_BOUNDS_MS[i - 1] as number);
      expect(ratio).toBeGreaterThan(1);
      expect(ratio).toBeLessThanOrEqual(5 / 3 + 1e-9);
    }
  });

  it('puts a value in the first bucket whose bound is at least the value', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(-5)).toBe(0);
    expect(bucketOf(1)).toBe(0);
    expect(bucketOf(1.01)).toBe(1);
    expect(bucketOf(7)).toBe(5);
    expect(bucketOf(8)).toBe(6);
    expect(bucketOf(250)).toBe(BUCKET_BOUNDS_MS.indexOf(300));
    expect(bucketOf(100_000_000)).toBe(BUCKET_COUNT - 2);
    expect(bucketOf(100_000_001)).toBe(BUCKET_COUNT - 1);
    expect(bucketOf(Infinity)).toBe(BUCKET_COUNT - 1);
    expect(bucketOf(Number.NaN)).toBe(0);
  });
});

describe('quantile', () => {
  const histogram = (values: number[]): number[] => {
    const counts = new Array<number>(BUCKET_COUNT).fill(0);
    for (const v of values) counts[bucketOf(v)] = (counts[bucketOf(v)] ?? 0) + 1;
    return counts;
  };

  it('is null without samples', () => {
    expect(quantile(histogram([]), 0.5)).toBeNull();
  });

  it('lands inside the bucket that holds the true quantile', () => {
    // 1..1000 ms, uniformly: the true p50 is 500, p95 950, p99 990.
    const values = Array.from({ length: 1000 }, (_, i) => i + 1);
    const counts = histogram(values);
    for (const [q, truth] of [[0.5, 500], [0.95, 950], [0.99, 990]] as const) {
      const estimate = quantile(counts, q) as number;
      const index = bucketOf(truth);
      const lower = index === 0 ? 0 : (BUCKET_BOUNDS_MS[index - 1] as number);
      expect(estimate).toBeGreaterThanOrEqual(lower);
      expect(estimate).toBeLessThanOrEqual(BUCKET_BOUNDS_MS[index] as number);
    }
  });

  it('interpolates linearly within a bucket', () => {
    // Four samples in (10, 15]: the median is half-way through that bucket.
    expect(quantile(histogram([11, 12, 13, 14]), 0.5)).toBeCloseTo(12.5);
  });

  it('reports the last bound for a quantile in the overflow bucket', () => {
    expect(quantile(histogram([200_000_000]), 0.99)).toBe(100_000_000);
  });

  it('keeps order: p50 <= p95 <= p99', () => {
    const counts = histogram([1, 3, 3, 40, 41, 900, 2_000, 60_000]);
    const [p50, p95, p99] = [0.5, 0.95, 0.99].map((q) => quantile(counts, q) as number);
    expect(p50).toBeLessThanOrEqual(p95 as number);
    expect(p95).toBeLessThanOrEqual(p99 as number);
  });
});

import { describe, expect, it } from 'vitest';
import { bucketOf } from './histogram.js';
import { bucketField, FIELD_NAMES, HOUR_MS, hourOf, HourlyAccumulator, summarize, summarizeTotal } from './hourly.js';

const H = Date.UTC(2030, 0, 2, 10); // an hour start

describe('hourOf', () => {
  it('is the start of the UTC hour', () => {
    expect(hourOf(H)).toBe(H);
    expect(hourOf(H + HOUR_MS - 1)).toBe(H);
    expect(hourOf(H + HOUR_MS)).toBe(H + HOUR_MS);
  });
});

describe('HourlyAccumulator', () => {
  it('adds counts and samples per (hour, queue) and forgets them once taken', () => {
    const acc = new HourlyAccumulator();
    acc.count(H + 1, 'default', 'submitted');
    acc.count(H + 2, 'default', 'submitted');
    acc.count(H + HOUR_MS, 'default', 'completed');
    acc.count(H + 3, 'batched', 'failed');
    acc.observe(H + 4, 'default', 'wait', 12.4);
    acc.observe(H + 5, 'default', 'wait', 13);
    const rows = acc.take();
    expect(acc.size).toBe(0);
    expect(acc.take()).toEqual([]);
    const first = rows.find((r) => r.hour === H && r.queue === 'default');
    expect(first?.fields).toEqual({ submitted: 2, [bucketField('wait', bucketOf(12))]: 2, wait_sum_ms: 25 });
    expect(rows.find((r) => r.hour === H + HOUR_MS)?.fields).toEqual({ completed: 1 });
    expect(rows.find((r) => r.queue === 'batched')?.fields).toEqual({ failed: 1 });
    for (const row of rows) for (const field of Object.keys(row.fields)) expect(FIELD_NAMES.has(field)).toBe(true);
  });

  it('restores a failed write on top of what came in meanwhile', () => {
    const acc = new HourlyAccumulator();
    acc.count(H, 'q', 'submitted', 3);
    const failed = acc.take();
    acc.count(H, 'q', 'submitted', 2);
    acc.restore(failed);
    expect(acc.take()).toEqual([{ hour: H, queue: 'q', fields: { submitted: 5 } }]);
  });
});

describe('summarize', () => {
  it('answers every hour of the range, empty ones as zeros, adding the queues up', () => {
    const acc = new HourlyAccumulator();
    acc.count(H, 'a', 'completed', 2);
    acc.count(H, 'b', 'completed', 3);
    acc.count(H + 2 * HOUR_MS, 'a', 'cancelled');
    for (const ms of [10, 20, 30, 40]) acc.observe(H, 'a', 'processing', ms);
    const hours = summarize(acc.take(), H, H + 3 * HOUR_MS);
    expect(hours.map((h) => h.hour)).toEqual([H, H + HOUR_MS, H + 2 * HOUR_MS]);
    expect(hours[0]).toMatchObject({ submitted: 0, completed: 5, failed: 0, timed_out: 0, cancelled: 0, dead_lettered: 0 });
    expect(hours[0]?.processing).toMatchObject({ count: 4, mean: 25 });
    expect(hours[0]?.processing.p50).toBeGreaterThanOrEqual(15);
    expect(hours[0]?.processing.p50).toBeLessThanOrEqual(30);
    expect(hours[0]?.wait).toEqual({ count: 0, mean: null, p50: null, p95: null, p99: null });
    expect(hours[1]).toMatchObject({ completed: 0, cancelled: 0 });
    expect(hours[2]).toMatchObject({ cancelled: 1 });
  });

  it('leaves out rows outside the range', () => {
    const hours = summarize([{ hour: H - HOUR_MS, queue: 'a', fields: { submitted: 9 } }, { hour: H + HOUR_MS, queue: 'a', fields: { submitted: 9 } }], H, H + HOUR_MS);
    expect(hours).toHaveLength(1);
    expect(hours[0]?.submitted).toBe(0);
  });
});

describe('summarizeTotal', () => {
  it('adds the hours of the range up, histograms included', () => {
    const acc = new HourlyAccumulator();
    acc.count(H, 'a', 'completed', 2);
    acc.count(H + HOUR_MS, 'b', 'completed', 3);
    acc.count(H + 5 * HOUR_MS, 'b', 'completed', 100); // outside
    acc.observe(H, 'a', 'wait', 10);
    acc.observe(H + HOUR_MS, 'a', 'wait', 30);
    const total = summarizeTotal(acc.take(), H, H + 2 * HOUR_MS);
    expect(total).toMatchObject({ hour: H, completed: 5, wait: { count: 2, mean: 20 } });
  });
});

import { describe, expect, it } from 'vitest';
import type { TrailEvent } from './api.js';
import { buildTimeline, summarize } from './timeline.js';

const at = (ms: number): string => new Date(Date.parse('2026-11-22T10:00:00Z') + ms).toISOString();
const event = (ms: number, from: TrailEvent['from'], to: TrailEvent['to'], attempt: number, extra: Partial<TrailEvent> = {}): TrailEvent => ({
  at: at(ms),
  from,
  to,
  attempt,
  worker_id: attempt > 0 ? 'w-1' : null,
  error: null,
  ...extra,
});

/** A request that failed twice, went to the dead letters, was replayed and completed, with a webhook. */
const TRAIL: TrailEvent[] = [
  event(0, null, 'PENDING', 0),
  event(40, 'PENDING', 'PROCESSING', 1),
  event(90, 'PROCESSING', 'PENDING', 1, { error: 'upstream 503' }),
  event(1100, 'PENDING', 'PROCESSING', 2),
  event(1150, 'PROCESSING', 'FAILED', 2, { error: 'bad input' }),
  event(60_000, 'FAILED', 'PENDING', 0, { kind: 'replayed', worker_id: null }),
  event(60_020, 'PENDING', 'PROCESSING', 1),
  event(60_200, 'PROCESSING', 'COMPLETED', 1),
  event(60_210, 'COMPLETED', 'COMPLETED', 1, { note: { kind: 'webhook', detail: { event: 'request.completed', state: 'queued', url: 'https://hooks.example/x' } } }),
  event(60_400, 'COMPLETED', 'COMPLETED', 1, { note: { kind: 'webhook', detail: { event: 'request.completed', state: 'retrying', attempt: 1, status: 502, latency_ms: 31, error: 'Bad Gateway', retry_in_ms: 2000 } } }),
  event(62_500, 'COMPLETED', 'COMPLETED', 1, { note: { kind: 'webhook', detail: { event: 'request.completed', state: 'delivered', attempt: 2, status: 200, latency_ms: 12 } } }),
  event(62_600, 'COMPLETED', 'COMPLETED', 1, { note: { kind: 'chained', detail: { next_id: '0193f1c2-0000-7000-8000-000000000001' } } }),
];

describe('buildTimeline', () => {
  it('tells attempts, retries, the dead letter, the replay, webhook deliveries and the follow-up in order', () => {
    const items = buildTimeline(TRAIL);
    expect(items.map((i) => [i.title, i.tone])).toEqual([
      ['Submitted', 'info'],
      ['Attempt 1 started', 'info'],
      ['Attempt 1 failed; to be retried', 'warn'],
      ['Attempt 2 started', 'info'],
      ['Failed on attempt 2', 'error'],
      ['Replayed from the dead letters', 'info'],
      ['Attempt 1 started', 'info'],
      ['Completed', 'ok'],
      ['Webhook request.completed queued', 'info'],
      ['Webhook request.completed retrying', 'warn'],
      ['Webhook request.completed delivered', 'ok'],
      ['Follow-up submitted', 'info'],
    ]);
    expect(items[1]?.detail).toBe('on w-1');
    expect(items[2]?.detail).toBe('upstream 503');
    expect(items[4]?.detail).toBe('bad input');
    expect(items[9]?.detail).toBe('delivery 1 · HTTP 502 · 31 ms · Bad Gateway · next try in 2 s');
    expect(items[8]?.detail).toBe('https://hooks.example/x');
    expect(items[11]?.link).toBe('0193f1c2-0000-7000-8000-000000000001');
    expect(items.map((i) => i.offsetMs).slice(0, 3)).toEqual([0, 40, 90]);
  });

  it('names the other endings, a hand-back, and notes it does not know', () => {
    const items = buildTimeline([
      event(0, null, 'PENDING', 0),
      event(5, 'PENDING', 'PROCESSING', 1),
      event(9, 'PROCESSING', 'PENDING', 1, { worker_id: 'w-2' }),
      event(10, 'PENDING', 'TIMEOUT', 1, { error: null }),
      event(11, 'TIMEOUT', 'TIMEOUT', 1, { note: { kind: 'chain_failed', detail: { code: 'HQM_ERR_QUEUE_UNKNOWN', error: 'no queue' } } }),
      event(12, 'TIMEOUT', 'TIMEOUT', 1, { note: { kind: 'something_new', detail: { a: 1 } } }),
      event(13, 'TIMEOUT', 'TIMEOUT', 1, { note: { kind: 'bare' } }),
    ]);
    expect(items.map((i) => [i.title, i.detail, i.tone])).toEqual([
      ['Submitted', null, 'info'],
      ['Attempt 1 started', 'on w-1', 'info'],
      ['Handed back to the queue', 'on w-2', 'info'],
      ['Timed out', 'its deadline passed', 'error'],
      ['Follow-up could not be submitted', 'HQM_ERR_QUEUE_UNKNOWN: no queue', 'warn'],
      ['something_new', '{"a":1}', 'info'],
      ['bare', null, 'info'],
    ]);
    expect(buildTimeline([event(0, null, 'PENDING', 0), event(3, 'PENDING', 'CANCELLED', 0, { error: 'cancelled' })]).at(-1)).toMatchObject({ title: 'Cancelled', tone: 'warn' });
    expect(buildTimeline([])).toEqual([]);
  });
});

describe('summarize', () => {
  it('counts attempts started and times the wait before the first one', () => {
    // Notes (the webhook's, the follow-up's) do not stretch the elapsed time: it ends at the last status change.
    expect(summarize(TRAIL)).toEqual({ attempts: 3, queueWaitMs: 40, elapsedMs: 60_200 });
    expect(summarize([event(0, null, 'PENDING', 0)])).toEqual({ attempts: 0, queueWaitMs: null, elapsedMs: 0 });
  });
});

import { describe, expect, it } from 'vitest';
import { bucketOf } from '../core/analytics/histogram.js';
import { bucketField, type HourlyDelta } from '../core/analytics/hourly.js';
import type { MinuteCount } from '../core/analytics/minutes.js';
import { HqmEvents } from '../core/events.js';
import { AnalyticsRecorder } from './analytics.js';

const AT = Date.UTC(2030, 0, 2, 10, 30);
const HOUR = Date.UTC(2030, 0, 2, 10);

function recorder(write: (deltas: readonly HourlyDelta[]) => Promise<void>) {
  const events = new HqmEvents();
  const errors: unknown[] = [];
  const rec = new AnalyticsRecorder(events, { write, now: () => AT, queueOf: (q) => (q === 'backend-q' ? 'default' : q), onError: (e) => errors.push(e) });
  return { events, rec, errors };
}

describe('AnalyticsRecorder', () => {
  it('turns request events into hourly deltas under the logical queue name', async () => {
    const written: HourlyDelta[] = [];
    const { events, rec } = recorder(async (d) => void written.push(...d));
    events.emit('request:submitted', { id: 'a', queue: 'backend-q' });
    events.emit('request:claimed', { id: 'a', queue: 'backend-q', attempt: 1, waitMs: 40 });
    events.emit('request:claimed', { id: 'a', queue: 'backend-q', attempt: 2, waitMs: 90_000 }); // a retry: no sample
    events.emit('request:completed', { id: 'a', queue: 'backend-q', attempt: 2, durationMs: 120 });
    events.emit('request:failed', { id: 'b', queue: 'backend-q', attempt: 1, error: new Error('x'), durationMs: 5 });
    events.emit('request:dead_lettered', { id: 'b', queue: 'backend-q', reason: 'processing_failed' });
    events.emit('request:timeout', { id: 'c', queue: 'backend-q', attempt: 1, durationMs: 0 }); // never ran: no processing time
    events.emit('request:cancelled', { id: 'd', queue: 'default', from: 'PENDING' });
    await rec.flush();
    expect(written).toEqual([
      {
        hour: HOUR,
        queue: 'default',
        fields: {
          submitted: 1,
          completed: 1,
          failed: 1,
          dead_lettered: 1,
          timed_out: 1,
          cancelled: 1,
          [bucketField('wait', bucketOf(40))]: 1,
          wait_sum_ms: 40,
          [bucketField('processing', bucketOf(120))]: 1,
          [bucketField('processing', bucketOf(5))]: 1,
          processing_sum_ms: 125,
        },
      },
    ]);
    await rec.flush();
    expect(written).toHaveLength(1); // nothing new: no write
  });

  it('keeps the deltas of a failed write and adds them to the next one', async () => {
    let fail = true;
    const written: HourlyDelta[] = [];
    const { events, rec, errors } = recorder(async (d) => {
      if (fail) throw new Error('store away');
      written.push(...d);
    });
    events.emit('request:submitted', { id: 'a', queue: 'q' });
    await rec.flush();
    expect(errors).toHaveLength(1);
    fail = false;
    events.emit('request:submitted', { id: 'b', queue: 'q' });
    await rec.flush();
    expect(written).toEqual([{ hour: HOUR, queue: 'q', fields: { submitted: 2 } }]);
  });

  it('close writes the rest and stops counting', async () => {
    const written: HourlyDelta[] = [];
    const { events, rec } = recorder(async (d) => void written.push(...d));
    rec.start();
    events.emit('request:submitted', { id: 'a', queue: 'q' });
    await rec.close();
    events.emit('request:submitted', { id: 'b', queue: 'q' });
    await rec.flush();
    expect(written).toEqual([{ hour: HOUR, queue: 'q', fields: { submitted: 1 } }]);
    expect(events.listenerCount('request:submitted')).toBe(0);
  });

  it('counts completed and failed (FAILED, TIMEOUT) per minute and writes them in the same flush', async () => {
    const events = new HqmEvents();
    const minutes: MinuteCount[] = [];
    const hours: HourlyDelta[] = [];
    const rec = new AnalyticsRecorder(events, {
      write: async (d) => void hours.push(...d),
      writeMinutes: async (c) => void minutes.push(...c),
      now: () => AT,
      queueOf: (q) => (q === 'backend-q' ? 'default' : q),
    });
    events.emit('request:submitted', { id: 'a', queue: 'backend-q' });
    events.emit('request:completed', { id: 'a', queue: 'backend-q', attempt: 1, durationMs: 3 });
    events.emit('request:failed', { id: 'b', queue: 'backend-q', attempt: 1, error: new Error('x'), durationMs: 5 });
    events.emit('request:timeout', { id: 'c', queue: 'high', attempt: 1, durationMs: 0 });
    events.emit('request:cancelled', { id: 'd', queue: 'backend-q', from: 'PENDING' }); // not an outcome of the minute
    await rec.flush();
    expect(minutes).toEqual([
      { minute: AT, queue: 'default', completed: 1, failed: 1 },
      { minute: AT, queue: 'high', completed: 0, failed: 1 },
    ]);
    expect(hours.map((h) => h.queue).sort()).toEqual(['default', 'high']);
  });

  it('keeps the minute counts of a failed write on their own, without writing the hours twice', async () => {
    const events = new HqmEvents();
    let fail = true;
    const minutes: MinuteCount[] = [];
    const hours: HourlyDelta[] = [];
    const errors: unknown[] = [];
    let written = 0;
    const rec = new AnalyticsRecorder(events, {
      write: async (d) => void hours.push(...d),
      writeMinutes: async (c) => {
        if (fail) throw new Error('store away');
        minutes.push(...c);
      },
      now: () => AT,
      onError: (e) => errors.push(e),
      onWritten: () => (written += 1),
    });
    events.emit('request:completed', { id: 'a', queue: 'q', attempt: 1, durationMs: 3 });
    await rec.flush();
    expect([errors.length, written, minutes.length, hours.length]).toEqual([1, 0, 0, 1]);
    fail = false;
    events.emit('request:completed', { id: 'b', queue: 'q', attempt: 1, durationMs: 3 });
    await rec.flush();
    expect(minutes).toEqual([{ minute: AT, queue: 'q', completed: 2, failed: 0 }]);
    expect(hours.reduce((n, h) => n + (h.fields.completed ?? 0), 0)).toBe(2);
    expect(written).toBe(1);
  });
});

/**
 * The AnalyticsStore conformance suite (ResultStore.analytics), run against every store adapter
 * on its real server. Each test counts under queue names of its own, so suites can share a server.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HOUR_MS, hourOf, type HourlyDelta } from '../core/analytics/hourly.js';
import { MINUTE_COUNTS_KEPT_MS, MINUTE_MS, minuteOf, type MinuteCount } from '../core/analytics/minutes.js';
import type { ResultStore } from '../ports/result-store.js';
import type { StoreHarness } from './fixtures.js';
import { waitFor } from './wait.js';

const DAY_MS = 24 * HOUR_MS;
const RETENTION_MS = 30 * DAY_MS;

export function describeAnalyticsStore(name: string, makeHarness: () => Promise<Pick<StoreHarness, 'open'> | { skip: string }>): void {
  describe(`AnalyticsStore conformance: ${name}`, () => {
    let harness: Pick<StoreHarness, 'open'>;
    let skipReason: string | undefined;
    const opened: ResultStore[] = [];

    beforeAll(async () => {
      const made = await makeHarness();
      if ('skip' in made) skipReason = made.skip;
      else harness = made;
    });

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    async function open(): Promise<ResultStore> {
      const store = await harness.open();
      opened.push(store);
      return store;
    }

    function test(title: string, body: () => Promise<void>): void {
      it(title, async (ctx) => {
        if (skipReason !== undefined) return ctx.skip(skipReason);
        await body();
      });
    }

    const now = hourOf(Date.now());
    const queueName = (): string => `q-${randomUUID()}`;
    const mine = (rows: readonly HourlyDelta[], queues: readonly string[]) =>
      rows.filter((r) => queues.includes(r.queue)).sort((a, b) => a.hour - b.hour || a.queue.localeCompare(b.queue));

    test('adds deltas per (hour, queue, field) and reads back the totals of a range, of one queue or all', async () => {
      const store = await open();
      const [a, b] = [queueName(), queueName()].sort();
      const h0 = now - 3 * HOUR_MS;
      await store.analytics.add([{ hour: h0, queue: a as string, fields: { submitted: 2, wait_b3: 1, wait_sum_ms: 3 } }, { hour: h0, queue: b as string, fields: { failed: 1 } }], RETENTION_MS);
      await store.analytics.add([{ hour: h0, queue: a as string, fields: { submitted: 5, completed: 1 } }, { hour: h0 + HOUR_MS, queue: a as string, fields: { submitted: 1 } }], RETENTION_MS);
      const all = await store.analytics.read({ since: h0, until: now + HOUR_MS });
      expect(mine(all, [a as string, b as string])).toEqual([
        { hour: h0, queue: a, fields: { submitted: 7, completed: 1, wait_b3: 1, wait_sum_ms: 3 } },
        { hour: h0, queue: b, fields: { failed: 1 } },
        { hour: h0 + HOUR_MS, queue: a, fields: { submitted: 1 } },
      ]);
      // `until` is exclusive, `since` inclusive; a queue filter leaves the other queues out.
      expect(mine(await store.analytics.read({ since: h0, until: h0 + HOUR_MS, queue: a }), [a as string, b as string])).toEqual([
        { hour: h0, queue: a, fields: { submitted: 7, completed: 1, wait_b3: 1, wait_sum_ms: 3 } },
      ]);
      expect(await store.analytics.read({ since: h0 + HOUR_MS, until: now + HOUR_MS, queue: b })).toEqual([]);
    });

    test('concurrent adds sum exactly', async () => {
      const store = await open();
      const q = queueName();
      await Promise.all(Array.from({ length: 50 }, () => store.analytics.add([{ hour: now, queue: q, fields: { completed: 1, processing_b10: 2 } }], RETENTION_MS)));
      expect(await store.analytics.read({ since: now, until: now + HOUR_MS, queue: q })).toEqual([{ hour: now, queue: q, fields: { completed: 50, processing_b10: 100 } }]);
    });

    test('another connection to a shared store adds to the same counters', async () => {
      const store = await open();
      if (!store.capabilities.sharedChangeFeed) return; // Per process by design (memory, an in-memory SQLite file).
      const other = await open();
      const q = queueName();
      await Promise.all([
        store.analytics.add([{ hour: now, queue: q, fields: { submitted: 1 } }], RETENTION_MS),
        other.analytics.add([{ hour: now, queue: q, fields: { submitted: 2 } }], RETENTION_MS),
      ]);
      expect(await other.analytics.read({ since: now, until: now + HOUR_MS, queue: q })).toEqual([{ hour: now, queue: q, fields: { submitted: 3 } }]);
    });

    test('keeps any queue name as it is', async () => {
      const store = await open();
      const q = `weird: ${randomUUID()} :: üñí — 中文\u0000`;
      await store.analytics.add([{ hour: now, queue: q, fields: { cancelled: 4 } }], RETENTION_MS);
      expect(await store.analytics.read({ since: now, until: now + HOUR_MS, queue: q })).toEqual([{ hour: now, queue: q, fields: { cancelled: 4 } }]);
    });

    test('forgets a row once the retention has passed since its hour ended, and never keeps one already past it', async () => {
      const store = await open();
      const q = queueName();
      const old = now - 2 * DAY_MS;
      await store.analytics.add([{ hour: old, queue: q, fields: { submitted: 1 } }], DAY_MS);
      expect(await store.analytics.read({ since: old, until: now + HOUR_MS, queue: q })).toEqual([]);
      // The previous hour ended at `now`: kept for a little more than a second from here.
      const previous = now - HOUR_MS;
      await store.analytics.add([{ hour: previous, queue: q, fields: { submitted: 1 } }], Date.now() - now + 1_200);
      expect(await store.analytics.read({ since: previous, until: now, queue: q })).toEqual([{ hour: previous, queue: q, fields: { submitted: 1 } }]);
      await waitFor(async () => (await store.analytics.read({ since: previous, until: now, queue: q })).length === 0, { timeoutMs: 10_000, what: 'the row to be forgotten' });
    });

    const ofQueues = (rows: readonly MinuteCount[], queues: readonly string[]) =>
      rows.filter((r) => queues.includes(r.queue)).sort((a, b) => a.minute - b.minute || a.queue.localeCompare(b.queue));

    test('minutes: adds completed and failed per (minute, queue), concurrent adds sum exactly', async () => {
      const store = await open();
      const [a, b] = [queueName(), queueName()].sort() as [string, string];
      const m = minuteOf(Date.now()) - MINUTE_MS;
      await store.analytics.addMinutes([{ minute: m, queue: a, completed: 2, failed: 0 }, { minute: m, queue: b, completed: 0, failed: 1 }]);
      await Promise.all(Array.from({ length: 20 }, () => store.analytics.addMinutes([{ minute: m, queue: a, completed: 1, failed: 1 }, { minute: m + MINUTE_MS, queue: a, completed: 1, failed: 0 }])));
      expect(ofQueues(await store.analytics.minutes(m), [a, b])).toEqual([
        { minute: m, queue: a, completed: 22, failed: 20 },
        { minute: m, queue: b, completed: 0, failed: 1 },
        { minute: m + MINUTE_MS, queue: a, completed: 20, failed: 0 },
      ]);
    });

    test('minutes: another connection to a shared store adds to the same counts', async () => {
      const store = await open();
      if (!store.capabilities.sharedChangeFeed) return; // Per process by design (memory, an in-memory SQLite file).
      const other = await open();
      const q = queueName();
      const m = minuteOf(Date.now());
      await Promise.all([
        store.analytics.addMinutes([{ minute: m, queue: q, completed: 3, failed: 1 }]),
        other.analytics.addMinutes([{ minute: m, queue: q, completed: 4, failed: 0 }]),
      ]);
      expect(ofQueues(await store.analytics.minutes(m), [q])).toEqual([{ minute: m, queue: q, completed: 7, failed: 1 }]);
      expect(ofQueues(await other.analytics.minutes(m), [q])).toEqual([{ minute: m, queue: q, completed: 7, failed: 1 }]);
    });

    test('minutes: answers only the minutes at or after `since`, and keeps any queue name as it is', async () => {
      const store = await open();
      const q = `weird: ${randomUUID()} :: üñí\u0000`;
      const m = minuteOf(Date.now());
      await store.analytics.addMinutes([2, 1, 0].map((ago) => ({ minute: m - ago * MINUTE_MS, queue: q, completed: ago + 1, failed: 0 })));
      expect(ofQueues(await store.analytics.minutes(m - MINUTE_MS), [q])).toEqual([
        { minute: m - MINUTE_MS, queue: q, completed: 2, failed: 0 },
        { minute: m, queue: q, completed: 1, failed: 0 },
      ]);
      expect(ofQueues(await store.analytics.minutes(m + MINUTE_MS), [q])).toEqual([]);
    });

    test('minutes: a minute past keeping is not kept, and the ones still kept stay', async () => {
      const store = await open();
      const q = queueName();
      const m = minuteOf(Date.now());
      const gone = m - MINUTE_MS - MINUTE_COUNTS_KEPT_MS - MINUTE_MS;
      const kept = m - 2 * MINUTE_MS;
      await store.analytics.addMinutes([{ minute: gone, queue: q, completed: 5, failed: 5 }, { minute: kept, queue: q, completed: 1, failed: 0 }]);
      expect(ofQueues(await store.analytics.minutes(gone), [q])).toEqual([{ minute: kept, queue: q, completed: 1, failed: 0 }]);
      // A minute long gone is not answered either, however far back `since` reaches.
      expect(ofQueues(await store.analytics.minutes(0), [q])).toEqual([{ minute: kept, queue: q, completed: 1, failed: 0 }]);
    });
  });
}

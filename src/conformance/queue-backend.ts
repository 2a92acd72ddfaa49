/**
 * The QueueBackend conformance suite. Every adapter's test file calls `describeQueueBackend`
 * with a way to open the backend against its real server; tests that need a capability the
 * backend lacks are skipped by that capability's value, never by hand, and every delay, lease
 * and wait is asked in the backend's own steps (capability-values.ts), so a backend that delays
 * or leases by the second passes the same cases as one that does so by the millisecond. Each
 * test uses its own queue name, so suites can share one server.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isHqmError } from '../core/errors.js';
import type { HealthReport } from '../ports/health.js';
import type { Delivery, QueueBackend } from '../ports/queue-backend.js';
import { expectedCounts, timingOf, type Timing } from './capability-values.js';
import { deferred, sleep, waitFor } from './wait.js';

export interface QueueHarness {
  /**
   * Opens a backend on the same storage every time it is called within the suite; `options` are
   * queue-section keys every backend takes (dead_letter_max, dead_letter_retention_seconds).
   */
  open(options?: Readonly<Record<string, unknown>>): Promise<QueueBackend>;
  /**
   * Ends `backend` as a crash would (its connections dropped, no settle, no clean close), so
   * what it held comes back by its session or lease ending. Absent: the case is skipped.
   */
  crash?(backend: QueueBackend): Promise<void>;
  /** The health() of a backend pointed at a server that cannot be reached; absent for in-process backends. */
  unreachable?(): Promise<HealthReport>;
}

export function describeQueueBackend(name: string, makeHarness: () => Promise<QueueHarness | { skip: string }>): void {
  describe(`QueueBackend conformance: ${name}`, () => {
    let harness: QueueHarness;
    let skipReason: string | undefined;
    let atMostOnce = false;
    const opened: QueueBackend[] = [];

    beforeAll(async () => {
      const made = await makeHarness();
      if ('skip' in made) skipReason = made.skip;
      else {
        harness = made;
        const probe = await harness.open();
        atMostOnce = probe.capabilities.delivery === 'at-most-once';
        await probe.close();
      }
    });

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((q) => q.close()));
    });

    async function open(options?: Readonly<Record<string, unknown>>): Promise<QueueBackend> {
      const backend = await harness.open(options);
      opened.push(backend);
      return backend;
    }

    /**
     * `holds`: `kept` cases publish before anyone consumes, or count on a message being kept
     * until settled, so an at-most-once backend (which drops what no consumer is subscribed
     * for) skips them; `any` cases hold for every delivery guarantee.
     */
    function test(title: string, body: (ctx: { queue: string }) => Promise<void>, needs?: (q: QueueBackend) => string | undefined, holds: 'kept' | 'any' = 'kept'): void {
      it(title, async (ctx) => {
        if (skipReason !== undefined) return ctx.skip(skipReason);
        if (holds === 'kept' && atMostOnce) return ctx.skip(`${name} delivers at most once: it keeps no message for a consumer not yet subscribed, nor one a consumer held`);
        if (needs !== undefined) {
          const probe = await open();
          const missing = needs(probe);
          if (missing !== undefined) return ctx.skip(`${name} lacks ${missing}`);
        }
        await body({ queue: `hqm-test-${randomUUID()}` });
      });
    }

    /** The backend's steps: every delay, lease and wait of a case goes through them. */
    const timing = (q: QueueBackend): Timing => timingOf(q.capabilities);
    /** A lease long enough that nothing lapses during a case. */
    const longLease = (q: QueueBackend): number => timing(q).lease(30_000);
    /** Waits for `probe` with a deadline grown by the backend's steps (10 s on a millisecond backend). */
    const until = <T>(q: QueueBackend, probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 10_000): Promise<T> =>
      waitFor(probe, { what, timeoutMs: timing(q).patience(ms) });
    const needsLeases = (q: QueueBackend): string | undefined => (q.capabilities.redelivery === 'lease' ? undefined : 'redelivery by lease');
    const needsDelays = (q: QueueBackend): string | undefined => (q.capabilities.delays !== null ? undefined : 'delays');
    const needsKeyOrder = (q: QueueBackend): string | undefined => (q.capabilities.ordering === 'per-key' ? undefined : 'per-key ordering');
    const needsExactStats = (q: QueueBackend): string | undefined => (q.capabilities.stats === 'exact' ? undefined : 'exact stats');
    const needsBrowsing = (q: QueueBackend): string | undefined => (q.capabilities.deadLetterBrowsing ? undefined : 'dead-letter browsing');

    const collect = (backend: QueueBackend, queue: string, options: { concurrency?: number; visibilityTimeoutMs?: number } = {}) => {
      const seen: Delivery[] = [];
      const subscription = backend.consume(
        queue,
        { concurrency: options.concurrency ?? 8, visibilityTimeoutMs: timing(backend).lease(options.visibilityTimeoutMs ?? 30_000) },
        async (d) => {
          seen.push(d);
          await d.ack();
        },
      );
      return { seen, subscription };
    };

    test('publishes, delivers each message once with attempt 1, and forgets it after ack', async ({ queue }) => {
      const q = await open();
      const bodies = ['{"n":1}', '{"n":2}', 'plain text \u00e9\u{1f600}'];
      for (const body of bodies) await q.publish(queue, { body });
      const { seen, subscription } = collect(q, queue);
      await until(q, () => seen.length === 3, 'three deliveries');
      expect(seen.map((d) => d.body).sort()).toEqual([...bodies].sort());
      expect(seen.every((d) => d.deliveryCount === 1)).toBe(true);
      expect(new Set(seen.map((d) => d.messageId)).size).toBe(3);
      await subscription.stop();
      // The last ack may still be on its way when the handler has seen the third delivery.
      await until(q, async () => {
        const stats = await q.stats(queue);
        return stats.depth === 0 && stats.inFlight === 0;
      }, 'empty queue');
    });

    test(
      'redelivers a message not settled within the visibility timeout, counting the attempt',
      async ({ queue }) => {
        const q = await open();
        await q.publish(queue, { body: 'lost' });
        const deliveries: Delivery[] = [];
        const sub = q.consume(queue, { concurrency: 1, visibilityTimeoutMs: timing(q).lease(300) }, async (d) => {
          deliveries.push(d);
          if (deliveries.length >= 2) await d.ack();
          // The first delivery is abandoned, as by a worker that died.
        });
        await until(q, () => deliveries.length >= 2, 'redelivery');
        await sub.stop();
        expect(deliveries.slice(0, 2).map((d) => d.deliveryCount)).toEqual(expectedCounts(q.capabilities.deliveryCounting, ['lapse']));
        expect(deliveries[1]?.messageId).toBe(deliveries[0]?.messageId);
      },
      needsLeases,
    );

    test(
      'a settle from a lapsed delivery does not settle the newer one',
      async ({ queue }) => {
        const q = await open();
        await q.publish(queue, { body: 'contended' });
        const deliveries: Delivery[] = [];
        const sub = q.consume(queue, { concurrency: 2, visibilityTimeoutMs: timing(q).lease(300) }, async (d) => {
          deliveries.push(d);
        });
        await until(q, () => deliveries.length >= 2, 'redelivery');
        await sub.stop();
        const [stale, fresh] = deliveries as [Delivery, Delivery];
        await fresh.extend(longLease(q));
        await stale.ack();
        expect((await q.stats(queue)).inFlight).toBe(1);
        await fresh.ack();
        await until(q, async () => (await q.stats(queue)).inFlight === 0 && (await q.stats(queue)).depth === 0, 'settled');
      },
      (q) => needsLeases(q) ?? (q.capabilities.staleSettles === 'harmless' ? undefined : 'harmless stale settles'),
    );

    test('two live consumers share the work with no loss and no double delivery', async ({ queue }) => {
      const q = await open();
      const total = 200;
      await Promise.all(Array.from({ length: total }, (_, i) => q.publish(queue, { body: String(i) })));
      const a = collect(q, queue, { concurrency: 4 });
      const b = collect(q, queue, { concurrency: 4 });
      await until(q, () => a.seen.length + b.seen.length >= total, `${total} deliveries`);
      await Promise.all([a.subscription.stop(), b.subscription.stop()]);
      const bodies = [...a.seen, ...b.seen].map((d) => d.body);
      expect(bodies).toHaveLength(total);
      expect(new Set(bodies).size).toBe(total);
      // Shared: neither consumer was left idle while the other took everything.
      expect(a.seen.length).toBeGreaterThan(0);
      expect(b.seen.length).toBeGreaterThan(0);
    });

    test(
      'delivers higher priority first and keeps publish order within a priority',
      async ({ queue }) => {
        const q = await open();
        const plan = [0, 5, 9, 5, 0, 9, 3, 9, 0, 5];
        for (const [i, priority] of plan.entries()) await q.publish(queue, { body: `${priority}:${i}`, priority });
        const order: string[] = [];
        const sub = q.consume(queue, { concurrency: 1, visibilityTimeoutMs: longLease(q) }, async (d) => {
          order.push(d.body);
          await d.ack();
        });
        await until(q, () => order.length === plan.length, 'all deliveries');
        await sub.stop();
        const expected = plan
          .map((priority, i) => ({ priority, i }))
          .sort((x, y) => y.priority - x.priority || x.i - y.i)
          .map(({ priority, i }) => `${priority}:${i}`);
        expect(order).toEqual(expected);
      },
      (q) => (q.capabilities.priorities === 'strict' && q.capabilities.fifo ? undefined : 'strict priorities with FIFO'),
    );

    test(
      'holds a delayed message back until its delay has passed',
      async ({ queue }) => {
        const q = await open();
        const t = timing(q);
        const delayMs = t.delay(400);
        const publishedAt = Date.now();
        await q.publish(queue, { body: 'later', delayMs });
        await q.publish(queue, { body: 'now' });
        const arrivals: Array<{ body: string; at: number }> = [];
        const sub = q.consume(queue, { concurrency: 2, visibilityTimeoutMs: longLease(q) }, async (d) => {
          arrivals.push({ body: d.body, at: Date.now() });
          await d.ack();
        });
        await until(q, () => arrivals.length === 2, 'both deliveries');
        await sub.stop();
        expect(arrivals[0]?.body).toBe('now');
        expect((arrivals[1]?.at ?? 0) - publishedAt).toBeGreaterThanOrEqual(delayMs - t.early);
        expect((await q.stats(queue)).delayed).toBe(0);
      },
      needsDelays,
    );

    test(
      'a delay longer than the visibility timeout is delivered once, when due: never held, redelivered or duplicated while it waits',
      async ({ queue }) => {
        const q = await open();
        const t = timing(q);
        const visibilityTimeoutMs = t.lease(200);
        // Several visibility timeouts pass while it waits.
        const delayMs = t.delay(Math.max(1_500, 4 * visibilityTimeoutMs));
        const publishedAt = Date.now();
        await q.publish(queue, { body: 'due later', delayMs });
        const arrivals: number[] = [];
        // Acked on arrival: a second arrival can only be a duplicate, not a lapsed lease.
        const sub = q.consume(queue, { concurrency: 4, visibilityTimeoutMs }, async (d) => {
          arrivals.push(Date.now());
          await d.ack();
        });
        // While it waits nobody holds it, however many visibility timeouts pass.
        let heldEarly = false;
        await until(
          q,
          async () => {
            const stats = await q.stats(queue);
            // Read entirely before it was due: in flight then means handed out early.
            if (Date.now() < publishedAt + delayMs - t.early && stats.inFlight > 0) heldEarly = true;
            return arrivals.length > 0;
          },
          'the delayed delivery',
          delayMs + 10_000,
        );
        // Anything still to come (a duplicate) would be in the queue or in flight now.
        await until(q, async () => {
          const stats = await q.stats(queue);
          return stats.depth === 0 && stats.inFlight === 0;
        }, 'an empty queue');
        await sub.stop();
        expect(heldEarly).toBe(false);
        expect(arrivals).toHaveLength(1);
        expect((arrivals[0] ?? 0) - publishedAt).toBeGreaterThanOrEqual(delayMs - t.early);
      },
      needsDelays,
    );

    test(
      'a message delayed by a day (or the longest delay, if shorter) stays put while other messages lapse and are redelivered around it',
      async ({ queue }) => {
        const q = await open();
        const { step } = timing(q);
        const longest = Math.floor((q.capabilities.delays?.maxMs ?? 0) / step) * step;
        await q.publish(queue, { body: 'tomorrow', delayMs: Math.min(86_400_000, longest) });
        await q.publish(queue, { body: 'abandoned' });
        const bodies: string[] = [];
        // The abandoned message is never settled: each redelivery means a visibility timeout
        // lapsed and the consumer looked at the queue again, with the day-long one in it.
        const sub = q.consume(queue, { concurrency: 2, visibilityTimeoutMs: timing(q).lease(150) }, async (d) => {
          bodies.push(d.body);
        });
        await until(q, () => bodies.filter((b) => b === 'abandoned').length >= 4, 'four lapsed deliveries');
        await sub.stop();
        expect(bodies).not.toContain('tomorrow');
        expect(await q.stats(queue)).toMatchObject({ delayed: 1 });
      },
      (q) => needsDelays(q) ?? needsLeases(q),
    );

    test(
      'retry(delay) redelivers after the delay as the next attempt; release does not count an attempt',
      async ({ queue }) => {
        const q = await open();
        const t = timing(q);
        const delayMs = t.delay(300);
        await q.publish(queue, { body: 'flaky' });
        const seen: Array<{ attempt: number; at: number }> = [];
        let retriedAt = 0;
        const sub = q.consume(queue, { concurrency: 1, visibilityTimeoutMs: longLease(q) }, async (d) => {
          seen.push({ attempt: d.deliveryCount, at: Date.now() });
          if (seen.length === 1) {
            retriedAt = Date.now();
            await d.retry(delayMs);
          } else if (seen.length === 2) await d.release();
          else await d.ack();
        });
        await until(q, () => seen.length === 3, 'three deliveries');
        await sub.stop();
        expect(seen.map((s) => s.attempt)).toEqual(expectedCounts(q.capabilities.deliveryCounting, ['retry', 'release']));
        expect((seen[1]?.at ?? 0) - retriedAt).toBeGreaterThanOrEqual(delayMs - t.early);
      },
      needsDelays,
    );

    test(
      'release(delay) gives the message back later without counting an attempt',
      async ({ queue }) => {
        const q = await open();
        const t = timing(q);
        const delayMs = t.delay(300);
        await q.publish(queue, { body: 'not yet' });
        const seen: Array<{ attempt: number; at: number }> = [];
        let releasedAt = 0;
        const sub = q.consume(queue, { concurrency: 1, visibilityTimeoutMs: longLease(q) }, async (d) => {
          seen.push({ attempt: d.deliveryCount, at: Date.now() });
          if (seen.length === 1) {
            releasedAt = Date.now();
            await d.release(delayMs);
          } else await d.ack();
        });
        await until(q, () => seen.length === 2, 'redelivery after release');
        await sub.stop();
        expect(seen.map((s) => s.attempt)).toEqual(expectedCounts(q.capabilities.deliveryCounting, ['release']));
        expect((seen[1]?.at ?? 0) - releasedAt).toBeGreaterThanOrEqual(delayMs - t.early);
      },
      needsDelays,
    );

    test(
      'delivers messages of one partition key one at a time, in order, across retries; other keys in parallel',
      async ({ queue }) => {
        const q = await open();
        const keys = ['a', 'b', 'c'];
        const perKey = 6;
        for (let i = 0; i < perKey; i += 1) {
          for (const key of keys) await q.publish(queue, { body: `${key}:${i}`, partitionKey: key });
        }
        await q.publish(queue, { body: 'free:0' });
        const inFlight = new Map<string, number>();
        let overlap = false;
        let parallel = false;
        const done: string[] = [];
        let failedOnce = false;
        const retryMs = q.capabilities.delays === null ? 0 : timing(q).delay(50);
        const sub = q.consume(queue, { concurrency: 6, visibilityTimeoutMs: longLease(q) }, async (d) => {
          const key = d.body.split(':')[0] ?? '';
          const busy = inFlight.get(key) ?? 0;
          if (busy > 0 && key !== 'free') overlap = true;
          inFlight.set(key, busy + 1);
          if ([...inFlight.values()].filter((n) => n > 0).length > 1) parallel = true;
          await new Promise((resolve) => setImmediate(resolve));
          inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
          if (d.body === 'a:2' && !failedOnce) {
            failedOnce = true;
            await d.retry(retryMs); // The head keeps its place: a:3 must wait for it.
            return;
          }
          done.push(d.body);
          await d.ack();
        });
        await until(q, () => done.length === keys.length * perKey + 1, 'every message');
        await sub.stop();
        expect(overlap).toBe(false);
        expect(parallel).toBe(true);
        for (const key of keys) {
          expect(done.filter((b) => b.startsWith(`${key}:`))).toEqual(Array.from({ length: perKey }, (_, i) => `${key}:${i}`));
        }
      },
      needsKeyOrder,
    );

    test('dead-letters a message with its reason and attempt count', async ({ queue }) => {
      const q = await open();
      await q.publish(queue, { body: '{"poison":true}' });
      const done = deferred();
      const sub = q.consume(queue, { concurrency: 1, visibilityTimeoutMs: longLease(q) }, async (d) => {
        await d.deadLetter('processor said no');
        done.resolve();
      });
      await done.promise;
      await sub.stop();
      const stats = await q.stats(queue);
      expect(stats).toMatchObject({ depth: 0, inFlight: 0, deadLettered: 1 });
      const [dead] = await q.deadLetters(queue, { limit: 10 });
      expect(dead).toMatchObject({ body: '{"poison":true}', reason: 'processor said no', attempts: 1 });
    });

    /** Dead-letters `count` messages of `queue` one at a time; returns their bodies in that order. */
    async function deadLetterAll(q: QueueBackend, queue: string, count: number): Promise<string[]> {
      for (let i = 0; i < count; i += 1) await q.publish(queue, { body: `${queue}:${i}` });
      const order: string[] = [];
      const sub = q.consume(queue, { concurrency: 1, visibilityTimeoutMs: longLease(q) }, async (d) => {
        await d.deadLetter('no');
        order.push(d.body);
      });
      await until(q, () => order.length === count, `${count} dead letters`);
      await sub.stop();
      return order;
    }

    test('keeps at most dead_letter_max dead letters per queue, dropping the oldest first', async ({ queue }) => {
      const q = await open({ dead_letter_max: 3 });
      const other = `${queue}-other`;
      const order = await deadLetterAll(q, queue, 7);
      await deadLetterAll(q, other, 2);
      const kept = await q.deadLetters(queue, { limit: 100 });
      expect(kept.map((d) => d.body)).toEqual(order.slice(-3).reverse());
      expect((await q.stats(queue)).deadLettered).toBe(3);
      // The cap is per queue: another queue's dead letters neither count nor go.
      expect(await q.deadLetters(other, { limit: 100 })).toHaveLength(2);
    });

    test('drops dead letters older than dead_letter_retention_seconds', async ({ queue }) => {
      const q = await open({ dead_letter_retention_seconds: 1 });
      await deadLetterAll(q, queue, 2);
      expect(await q.deadLetters(queue, { limit: 10 })).toHaveLength(2);
      await until(q, async () => (await q.stats(queue)).deadLettered === 0, 'the dead letters to expire');
      expect(await q.deadLetters(queue, { limit: 10 })).toEqual([]);
    });

    test('browses dead letters newest first, a page at a time, by cursor', async ({ queue }) => {
      const q = await open();
      const order = await deadLetterAll(q, queue, 5);
      await deadLetterAll(q, `${queue}-other`, 1);
      const first = await q.browseDeadLetters(queue, { limit: 2 });
      expect(first.letters.map((d) => d.body)).toEqual([order[4], order[3]]);
      expect(first.next).toBe(first.letters[1]?.id);
      const second = await q.browseDeadLetters(queue, { limit: 2, before: first.next ?? '' });
      expect(second.letters.map((d) => d.body)).toEqual([order[2], order[1]]);
      const last = await q.browseDeadLetters(queue, { limit: 2, before: second.next ?? '' });
      expect(last.letters.map((d) => d.body)).toEqual([order[0]]);
      expect(last.next).toBeNull();
      // Exactly a page's worth left: no empty page after it.
      expect((await q.browseDeadLetters(queue, { limit: 5 })).next).toBeNull();
      expect(new Set([...first.letters, ...second.letters, ...last.letters].map((d) => d.id)).size).toBe(5);
      const bad = await q.browseDeadLetters(queue, { limit: 2, before: 'not an id' }).catch((error: unknown) => error);
      expect(isHqmError(bad) && bad.code).toBe('HQM_ERR_VALIDATION');
    }, needsBrowsing);

    test('gets and removes one dead letter by its id, within its own queue only', async ({ queue }) => {
      const q = await open();
      await deadLetterAll(q, queue, 2);
      const [newest, oldest] = (await q.browseDeadLetters(queue, { limit: 10 })).letters;
      expect(await q.getDeadLetter(queue, oldest?.id ?? '')).toEqual(oldest);
      expect(await q.getDeadLetter(`${queue}-other`, oldest?.id ?? '')).toBeUndefined();
      expect(await q.getDeadLetter(queue, 'no such id')).toBeUndefined();
      expect(await q.removeDeadLetter(`${queue}-other`, oldest?.id ?? '')).toBe(false);
      expect(await q.removeDeadLetter(queue, oldest?.id ?? '')).toBe(true);
      expect(await q.removeDeadLetter(queue, oldest?.id ?? '')).toBe(false);
      expect(await q.getDeadLetter(queue, oldest?.id ?? '')).toBeUndefined();
      expect((await q.browseDeadLetters(queue, { limit: 10 })).letters).toEqual([newest]);
      expect((await q.stats(queue)).deadLettered).toBe(1);
    }, needsBrowsing);

    test('purges the dead letters of a queue dead-lettered before a time', async ({ queue }) => {
      const q = await open();
      await deadLetterAll(q, queue, 2);
      // After both are settled, by any clock the backend reads (Redis dates an entry itself).
      const cut = Date.now() + 1;
      await until(q, () => Date.now() > cut, 'the clock to pass the cut');
      const newer = await deadLetterAll(q, `${queue}`, 1);
      await deadLetterAll(q, `${queue}-other`, 1);
      expect(await q.purgeDeadLetters(queue, cut)).toBe(2);
      expect((await q.browseDeadLetters(queue, { limit: 10 })).letters.map((d) => d.body)).toEqual(newer);
      // Another queue's are untouched, and a purge with nothing to drop drops nothing.
      expect((await q.browseDeadLetters(`${queue}-other`, { limit: 10 })).letters).toHaveLength(1);
      expect(await q.purgeDeadLetters(queue, cut)).toBe(0);
    }, needsBrowsing);

    test('replays a dead letter: it goes and its replacement is delivered afresh, once, even when replayed twice at once', async ({ queue }) => {
      const q = await open();
      await deadLetterAll(q, queue, 1);
      const [dead] = (await q.browseDeadLetters(queue, { limit: 10 })).letters;
      const id = dead?.id ?? '';
      const replays = await Promise.all([q.replayDeadLetter(queue, id, { body: 'fixed' }), q.replayDeadLetter(queue, id, { body: 'fixed too' })]);
      expect(replays.filter((r) => r !== undefined)).toHaveLength(1);
      expect(await q.getDeadLetter(queue, id)).toBeUndefined();
      expect(await q.replayDeadLetter(queue, id, { body: 'again' })).toBeUndefined();
      expect(await q.stats(queue)).toMatchObject({ depth: 1, deadLettered: 0 });
      const { seen, subscription } = collect(q, queue);
      await until(q, () => seen.length === 1, 'the replayed message');
      expect(['fixed', 'fixed too']).toContain(seen[0]?.body);
      expect(seen[0]?.deliveryCount).toBe(1);
      await subscription.stop();
      await until(q, async () => (await q.stats(queue)).depth === 0, 'the replayed message to be acknowledged');
    }, needsBrowsing);

    test(
      'replays a dead letter with a delay: it waits like a delayed publish',
      async ({ queue }) => {
        const q = await open();
        await deadLetterAll(q, queue, 1);
        const [dead] = (await q.browseDeadLetters(queue, { limit: 10 })).letters;
        expect(await q.replayDeadLetter(queue, dead?.id ?? '', { body: 'later', delayMs: timing(q).delay(60_000) })).toBeDefined();
        expect(await q.stats(queue)).toMatchObject({ depth: 1, delayed: 1, deadLettered: 0 });
      },
      (q) => needsBrowsing(q) ?? needsDelays(q),
    );

    test(
      'replays a dead letter with a partition key behind the key\'s head, in order',
      async ({ queue }) => {
        const q = await open();
        await q.publish(queue, { body: 'poison', partitionKey: 'k' });
        const buried = deferred();
        const sub = q.consume(queue, { concurrency: 1, visibilityTimeoutMs: longLease(q) }, async (d) => {
          await d.deadLetter('no');
          buried.resolve();
        });
        await buried.promise;
        await sub.stop();
        await q.publish(queue, { body: 'head', partitionKey: 'k' });
        const [dead] = (await q.browseDeadLetters(queue, { limit: 10 })).letters;
        expect(await q.replayDeadLetter(queue, dead?.id ?? '', { body: 'replayed', partitionKey: 'k' })).toBeDefined();
        const { seen, subscription } = collect(q, queue);
        await until(q, () => seen.length === 2, 'both messages of the key');
        expect(seen.map((d) => d.body)).toEqual(['head', 'replayed']);
        await subscription.stop();
      },
      (q) => needsBrowsing(q) ?? needsKeyOrder(q),
    );

    test('reports depth, delayed and in-flight counts', async ({ queue }) => {
      const q = await open();
      for (let i = 0; i < 3; i += 1) await q.publish(queue, { body: String(i) });
      if (q.capabilities.delay) await q.publish(queue, { body: 'later', delayMs: timing(q).delay(60_000) });
      const held = deferred<Delivery>();
      const sub = q.consume(queue, { concurrency: 1, visibilityTimeoutMs: longLease(q) }, async (d) => {
        held.resolve(d);
        await new Promise(() => undefined); // Holds its only slot for the rest of the test.
      });
      const delivery = await held.promise;
      await sub.stop();
      const delayed = q.capabilities.delay ? 1 : 0;
      await until(q, async () => (await q.stats(queue)).inFlight === 1, 'one in flight');
      expect(await q.stats(queue)).toMatchObject({ depth: 2 + delayed, inFlight: 1, delayed, deadLettered: 0 });
      await delivery.ack();
    }, needsExactStats);

    test('reports when the message waiting longest became ready, and null once nothing is ready', async ({ queue }) => {
      const q = await open();
      expect((await q.stats(queue)).oldestReadyAt ?? null).toBeNull();
      // A server's clock may be a little off this process's: allowed a second either way.
      const before = Date.now() - 1000;
      await q.publish(queue, { body: 'first' });
      const between = Date.now() + 1000;
      await q.publish(queue, { body: 'second' });
      if (q.capabilities.delay) await q.publish(queue, { body: 'later', delayMs: timing(q).delay(60_000) });
      const oldest = (await q.stats(queue)).oldestReadyAt;
      expect(oldest).toBeGreaterThanOrEqual(before);
      expect(oldest).toBeLessThanOrEqual(between);
      const { seen, subscription } = collect(q, queue);
      await until(q, () => seen.length === 2, 'both ready messages');
      await subscription.stop();
      // Only the delayed message is left, and it is not ready.
      await until(q, async () => (await q.stats(queue)).depth === (q.capabilities.delay ? 1 : 0), 'acks');
      expect((await q.stats(queue)).oldestReadyAt).toBeNull();
    }, needsExactStats);

    test('a consume gate caps what the consumer holds, and a raise lets it take more', async ({ queue }) => {
      const q = await open();
      for (let i = 0; i < 5; i += 1) await q.publish(queue, { body: String(i) });
      let limit = 1;
      let wake: () => void = () => undefined;
      let unregistered = false;
      const gate = {
        limit: () => limit,
        onRaise: (w: () => void) => {
          wake = w;
          return () => void (unregistered = true);
        },
      };
      const held: Delivery[] = [];
      let mostHeld = 0;
      const sub = q.consume(queue, { concurrency: 8, visibilityTimeoutMs: longLease(q), gate }, async (d) => {
        held.push(d);
        mostHeld = Math.max(mostHeld, held.length);
        await new Promise(() => undefined); // Held until the test acks it.
      });
      await until(q, () => held.length === 1, 'the first delivery');
      // Claimed before it was delivered: a consumer that ignored the gate would show more in flight.
      expect((await q.stats(queue)).inFlight).toBe(1);
      limit = 3;
      wake();
      await until(q, () => held.length === 3, 'two more after the raise');
      expect((await q.stats(queue)).inFlight).toBe(3);
      await sub.stop();
      expect(unregistered).toBe(true);
      expect(mostHeld).toBe(3);
      await Promise.all(held.map((d) => d.ack()));
    });

    test('extend keeps a slow delivery invisible past its visibility timeout', async ({ queue }) => {
      const q = await open();
      const visibilityTimeoutMs = timing(q).lease(300);
      await q.publish(queue, { body: 'slow' });
      const deliveries: Delivery[] = [];
      const sub = q.consume(queue, { concurrency: 2, visibilityTimeoutMs }, async (d) => {
        deliveries.push(d);
        await d.extend(longLease(q));
      });
      await until(q, () => deliveries.length === 1, 'first delivery');
      // The property under test is an absence: nothing may arrive during three visibility timeouts.
      await sleep(3 * visibilityTimeoutMs);
      await sub.stop();
      expect(deliveries).toHaveLength(1);
      await deliveries[0]?.ack();
    }, needsLeases);

    test('stop() ends deliveries to that subscription', async ({ queue }) => {
      const q = await open();
      const { seen, subscription } = collect(q, queue);
      await subscription.stop();
      await q.publish(queue, { body: 'after stop' });
      const other = collect(q, queue);
      await until(q, () => other.seen.length === 1, 'delivery to the live subscription');
      await other.subscription.stop();
      expect(seen).toHaveLength(0);
    });

    test('refuses a message larger than the backend accepts, with HQM_ERR_BODY_TOO_LARGE', async ({ queue }) => {
      const q = await open();
      const body = 'x'.repeat(q.capabilities.maxMessageBytes + 1);
      const error = await q.publish(queue, { body }).catch((e: unknown) => e);
      expect(isHqmError(error) && error.code).toBe('HQM_ERR_BODY_TOO_LARGE');
    }, undefined, 'any');

    test(
      'keeps messages across close and reopen, and redelivers what was in flight',
      async ({ queue }) => {
        const first = await open();
        await first.publish(queue, { body: 'kept' });
        await first.publish(queue, { body: 'in flight' });
        const held = deferred<Delivery>();
        const sub = first.consume(queue, { concurrency: 1, visibilityTimeoutMs: timing(first).lease(500) }, async (d) => {
          held.resolve(d);
        });
        await held.promise;
        await sub.stop();
        await first.close();
        const second = await open();
        const { seen, subscription } = collect(second, queue);
        await until(second, () => seen.length === 2, 'both messages after reopen');
        await subscription.stop();
        expect(seen.map((d) => d.body).sort()).toEqual(['in flight', 'kept']);
      },
      // Closing a client is not a server restart: a backend processes share keeps its messages
      // whatever its own durability (Redis without an append-only file included).
      (q) => (q.capabilities.durable || q.capabilities.shared ? undefined : 'storage that outlives one client'),
    );

    test(
      'delivers messages without a priority in publish order (FIFO)',
      async ({ queue }) => {
        const q = await open();
        const bodies = Array.from({ length: 12 }, (_, i) => `m${i}`);
        for (const body of bodies) await q.publish(queue, { body });
        const order: string[] = [];
        const sub = q.consume(queue, { concurrency: 1, visibilityTimeoutMs: longLease(q) }, async (d) => {
          order.push(d.body);
          await d.ack();
        });
        await until(q, () => order.length === bodies.length, 'every message');
        await sub.stop();
        expect(order).toEqual(bodies);
      },
      (q) => (q.capabilities.fifo ? undefined : 'FIFO'),
    );

    test(
      'keeps messageId and enqueuedAt across retry, release and a lapsed lease',
      async ({ queue }) => {
        const q = await open();
        await q.publish(queue, { body: 'stable' });
        const seen: Delivery[] = [];
        const sub = q.consume(queue, { concurrency: 2, visibilityTimeoutMs: timing(q).lease(300) }, async (d) => {
          seen.push(d);
          if (seen.length === 1) await d.retry(0);
          else if (seen.length === 2) await d.release();
          else if (seen.length === 4) await d.ack();
          // The third is abandoned: its lease lapses and the message comes back.
        });
        await until(q, () => seen.length === 4, 'four deliveries');
        await sub.stop();
        expect(new Set(seen.map((d) => d.messageId)).size).toBe(1);
        expect(new Set(seen.map((d) => d.enqueuedAt)).size).toBe(1);
        expect(seen.map((d) => d.deliveryCount)).toEqual(expectedCounts(q.capabilities.deliveryCounting, ['retry', 'release', 'lapse']));
      },
      needsLeases,
    );

    test('twenty releases and then an ack: the count moves only as the backend counts releases (never, where they are given back), and the ack ends the message', async ({ queue }) => {
      const q = await open();
      await q.publish(queue, { body: 'patient' });
      const counts: number[] = [];
      const ids = new Set<string>();
      const sub = q.consume(queue, { concurrency: 1, visibilityTimeoutMs: longLease(q) }, async (d) => {
        counts.push(d.deliveryCount);
        ids.add(d.messageId);
        await (counts.length <= 20 ? d.release() : d.ack());
      });
      await until(q, () => counts.length === 21, 'twenty-one deliveries');
      await sub.stop();
      expect(counts).toEqual(expectedCounts(q.capabilities.deliveryCounting, Array.from({ length: 20 }, () => 'release' as const)));
      expect(ids.size).toBe(1);
      await until(q, async () => {
        const stats = await q.stats(queue);
        return stats.depth === 0 && stats.inFlight === 0;
      }, 'the ack');
    });

    test(
      'a stale settle and a double settle through another backend instance touch neither the newer delivery nor others in flight',
      async ({ queue }) => {
        const [a, b] = [await open(), await open()];
        for (const body of ['contended', 'other-1', 'other-2']) await a.publish(queue, { body });
        const first: Delivery[] = [];
        const subA = a.consume(queue, { concurrency: 3, visibilityTimeoutMs: timing(a).lease(300) }, async (d) => {
          first.push(d);
        });
        await until(a, () => first.length === 3, 'three deliveries on the first instance');
        await subA.stop();
        // The others stay held by the first instance; only the contended one lapses and goes to the second.
        for (const d of first.filter((d) => d.body !== 'contended')) await d.extend(longLease(a));
        const second: Delivery[] = [];
        const subB = b.consume(queue, { concurrency: 1, visibilityTimeoutMs: longLease(b) }, async (d) => {
          second.push(d);
        });
        await until(b, () => second.length === 1, 'the redelivery on the second instance');
        await subB.stop();
        const stale = first.find((d) => d.body === 'contended') as Delivery;
        const fresh = second[0] as Delivery;
        expect(fresh.body).toBe('contended');
        await stale.ack();
        await stale.ack();
        await stale.deadLetter('stale');
        expect(await a.stats(queue)).toMatchObject({ inFlight: 3, deadLettered: 0 });
        await fresh.ack();
        await fresh.ack();
        expect((await b.stats(queue)).inFlight).toBe(2);
        for (const d of first.filter((d) => d.body !== 'contended')) await d.ack();
        await until(a, async () => (await a.stats(queue)).inFlight === 0 && (await a.stats(queue)).depth === 0, 'all settled');
      },
      (q) => needsLeases(q) ?? (q.capabilities.shared && q.capabilities.staleSettles === 'harmless' ? undefined : 'harmless stale settles between processes'),
    );

    test('accepts and delivers intact a body of exactly maxMessageBytes', async ({ queue }) => {
      const q = await open();
      const max = q.capabilities.maxMessageBytes;
      // Multi-byte characters up to the last few bytes: the limit is in UTF-8 bytes, not characters.
      const head = '\u00e9'.repeat(Math.floor((max - 8) / 2));
      const body = head + 'x'.repeat(max - Buffer.byteLength(head));
      expect(Buffer.byteLength(body)).toBe(max);
      await q.publish(queue, { body });
      const { seen, subscription } = collect(q, queue);
      await until(q, () => seen.length === 1, 'the largest message', 30_000);
      await subscription.stop();
      expect(seen[0]?.body === body).toBe(true);
    });

    test(
      'moves a partition key on as soon as its head is settled, not at a polling step',
      async ({ queue }) => {
        const q = await open();
        const count = 6;
        for (let i = 0; i < count; i += 1) await q.publish(queue, { body: String(i), partitionKey: 'k' });
        const settledAt: number[] = [];
        const gaps: number[] = [];
        const sub = q.consume(queue, { concurrency: 4, visibilityTimeoutMs: longLease(q) }, async (d) => {
          const last = settledAt.at(-1);
          if (last !== undefined) gaps.push(Date.now() - last);
          await d.ack();
          settledAt.push(Date.now());
        });
        await until(q, () => settledAt.length === count, 'every message of the key');
        await sub.stop();
        // A consumer that waits for a safety timer after each settle shows ~1 s gaps (the bug
        // this catches); a woken one shows a round trip. The median is robust to one slow step.
        const median = [...gaps].sort((x, y) => x - y)[Math.floor(gaps.length / 2)] ?? 0;
        expect(median).toBeLessThan(Math.max(250, 2 * timing(q).step));
      },
      needsKeyOrder,
    );

    test('an injected duplicate while the first copy runs is a delivery of its own that can be handed back and acked around it: one processor run', async ({ queue }) => {
      const q = await open();
      const t = timing(q);
      // What the worker does with the store's claim (D130), by request: a request running under
      // a live claim hands a second copy back, uncounted; a finished one acknowledges it.
      const state = new Map<string, 'running' | 'finished'>();
      let runs = 0;
      const deliveries: Delivery[] = [];
      const firstRuns = deferred<Delivery>();
      const sub = q.consume(queue, { concurrency: 2, visibilityTimeoutMs: longLease(q) }, async (d) => {
        deliveries.push(d);
        const seen = state.get(d.body);
        if (seen === 'finished') return d.ack();
        if (seen === 'running') return d.release(q.capabilities.delays === null ? 0 : t.delay(50));
        state.set(d.body, 'running');
        runs += 1;
        firstRuns.resolve(d); // Runs until the test finishes it.
      });
      await q.publish(queue, { body: 'request-1' });
      const first = await firstRuns.promise;
      await q.publish(queue, { body: 'request-1' }); // A producer's retry, a broker's duplicate.
      await until(q, () => deliveries.length >= 3, 'the duplicate, handed back and delivered again');
      // Handing the duplicate back touched neither the first copy nor its lease.
      expect(deliveries.slice(1).every((d) => d.messageId !== first.messageId)).toBe(true);
      expect((await q.stats(queue)).inFlight).toBeGreaterThanOrEqual(1);
      state.set('request-1', 'finished');
      await first.ack();
      await until(q, async () => {
        const stats = await q.stats(queue);
        return stats.depth === 0 && stats.inFlight === 0;
      }, 'both copies settled');
      await sub.stop();
      expect(runs).toBe(1);
    });

    test(
      'redelivers what a crashed client held once its session or lease ends',
      async ({ queue }) => {
        const first = await open();
        await first.publish(queue, { body: 'orphaned' });
        const held = deferred<Delivery>();
        first.consume(queue, { concurrency: 1, visibilityTimeoutMs: timing(first).lease(300) }, async (d) => held.resolve(d));
        await held.promise;
        await harness.crash?.(first);
        const second = await open();
        const { seen, subscription } = collect(second, queue);
        await until(second, () => seen.length === 1, 'the redelivery after the crash');
        await subscription.stop();
        expect(seen[0]?.body).toBe('orphaned');
      },
      () => (harness.crash === undefined ? 'a crash hook' : undefined),
    );

    test(
      'health() of a backend whose server cannot be reached is not ok, with a reason',
      async () => {
        const report = await harness.unreachable?.();
        expect(report?.ok).toBe(false);
        expect(report?.detail).toEqual(expect.any(String));
      },
      () => (harness.unreachable === undefined ? 'a server to be unreachable' : undefined),
      'any',
    );

    test('keeps one deployment secret: long and random, the same for every backend opened on the same storage', async () => {
      const first = await open();
      const secret = await first.deploymentSecret();
      expect(secret).toMatch(/^[0-9a-f]{64,}$/);
      expect(await first.deploymentSecret()).toBe(secret);
      const second = await open();
      expect(await second.deploymentSecret()).toBe(secret);
    }, (q) => (q.capabilities.shared ? undefined : 'sharing between processes'), 'any');

    // At-most-once delivery (D274): what holds for consumers subscribed before the publish.
    const needsAtMostOnce = (q: QueueBackend): string | undefined => (q.capabilities.delivery === 'at-most-once' ? undefined : 'at-most-once delivery (the cases above cover at-least-once)');
    /** Publishes probes until `arrived` says one reached the subscriptions: they are subscribed from then on. */
    const subscribed = (q: QueueBackend, queue: string, arrived: () => boolean): Promise<true> =>
      until(q, async () => {
        if (arrived()) return true;
        await q.publish(queue, { body: `probe:${randomUUID()}` });
        return arrived();
      }, 'the subscriptions to be in place');
    const isProbe = (d: Delivery): boolean => d.body.startsWith('probe:');

    test('at-most-once: delivers each message published while a consumer is subscribed once, intact, as attempt 1', async ({ queue }) => {
      const q = await open();
      const { seen, subscription } = collect(q, queue);
      await subscribed(q, queue, () => seen.some(isProbe));
      const bodies = Array.from({ length: 20 }, (_, i) => `{"n":${i},"s":"\u00e9\u{1f600}"}`);
      for (const body of bodies) await q.publish(queue, { body });
      const real = (): Delivery[] => seen.filter((d) => !isProbe(d));
      await until(q, () => real().length >= bodies.length, 'every message');
      // One more message after them: anything duplicated would have arrived before it.
      await q.publish(queue, { body: 'last' });
      await until(q, () => real().some((d) => d.body === 'last'), 'the last message');
      await subscription.stop();
      expect(real().map((d) => d.body).sort()).toEqual([...bodies, 'last'].sort());
      expect(real().every((d) => d.deliveryCount === 1)).toBe(true);
      expect(new Set(real().map((d) => d.messageId)).size).toBe(bodies.length + 1);
    }, needsAtMostOnce, 'any');

    test('at-most-once: two subscribed consumers share the work with no loss and no double delivery', async ({ queue }) => {
      const q = await open();
      const a = collect(q, queue, { concurrency: 4 });
      const b = collect(q, queue, { concurrency: 4 });
      await subscribed(q, queue, () => a.seen.some(isProbe) && b.seen.some(isProbe));
      const total = 200;
      await Promise.all(Array.from({ length: total }, (_, i) => q.publish(queue, { body: String(i) })));
      const real = (): Delivery[] => [...a.seen, ...b.seen].filter((d) => !isProbe(d));
      await until(q, () => real().length >= total, `${total} deliveries`);
      await Promise.all([a.subscription.stop(), b.subscription.stop()]);
      const bodies = real().map((d) => d.body);
      expect(bodies).toHaveLength(total);
      expect(new Set(bodies).size).toBe(total);
      expect(a.seen.filter((d) => !isProbe(d)).length).toBeGreaterThan(0);
      expect(b.seen.filter((d) => !isProbe(d)).length).toBeGreaterThan(0);
    }, needsAtMostOnce, 'any');

    test('at-most-once: retry and release deliver the message again, once each, with its id; retry counts an attempt', async ({ queue }) => {
      const q = await open();
      const seen: Delivery[] = [];
      const sub = q.consume(queue, { concurrency: 2, visibilityTimeoutMs: longLease(q) }, async (d) => {
        seen.push(d);
        if (isProbe(d) || d.body === 'last') return d.ack();
        const turns = seen.filter((s) => s.body === d.body).length;
        if (turns === 1) return d.retry(0);
        if (turns === 2) return d.release();
        return d.ack();
      });
      await subscribed(q, queue, () => seen.some(isProbe));
      await q.publish(queue, { body: 'flaky' });
      const flaky = (): Delivery[] => seen.filter((d) => d.body === 'flaky');
      await until(q, () => flaky().length >= 3, 'the retried and released deliveries');
      await q.publish(queue, { body: 'last' });
      await until(q, () => seen.some((d) => d.body === 'last'), 'the last message');
      await sub.stop();
      expect(flaky()).toHaveLength(3);
      expect(new Set(flaky().map((d) => d.messageId)).size).toBe(1);
      expect(flaky().map((d) => d.deliveryCount)).toEqual(expectedCounts(q.capabilities.deliveryCounting, ['retry', 'release']));
    }, needsAtMostOnce, 'any');
  });
}

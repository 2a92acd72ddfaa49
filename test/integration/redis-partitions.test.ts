/**
 * Per-key order on the Redis queue beyond the conformance suite (decision D26): a head whose
 * consumer died keeps its key blocked until it is re-claimed and settled; dead-lettering a head
 * promotes the next message; a delayed message behind a head keeps its own due time; order
 * within a key beats priority; the counts include messages held behind a head; and consumers on
 * two connections (as two processes) never hold two messages of one key at once, leaving
 * nothing behind.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { factory as queueFactory } from '../../src/adapters/queue/redis/index.js';
import { queueKeys } from '../../src/adapters/queue/redis/keys.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { Delivery, QueueBackend } from '../../src/ports/queue-backend.js';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix } from '../helpers/redis.js';
import { deferred, waitFor } from '../helpers/wait.js';

const context = { logger: silentLogger };
const prefix = testPrefix();
let skip: string | undefined;
const opened: QueueBackend[] = [];

beforeAll(async () => {
  skip = (await requireRedis())?.skip;
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((q) => q.close()));
});
afterAll(() => deleteKeys(prefix, { url: REDIS_URL }).catch(() => undefined));

/** A queue backend; another `url` for the same server gives it a connection of its own, as another process has. */
async function openQueue(url = REDIS_URL): Promise<QueueBackend> {
  const queue = await queueFactory.create({ redis_url: url, key_prefix: prefix }, context);
  opened.push(queue);
  return queue;
}

const newQueueName = (): string => `hqm-test-${randomUUID()}`;

/** Lets a turn of the event loop pass, so a delivery holds its key while others could arrive. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Watches the holders of each key: a delivery holds its key from the handler's start until it
 * issues its settle. `settling` names what the handler is about to settle, so a message that
 * arrives before the one ahead of it was even settled is caught.
 */
class KeyLedger {
  readonly overlaps: string[] = [];
  /** Bodies in the order their final settle (ack or dead-letter) was issued, per key. */
  readonly ended = new Map<string, string[]>();
  readonly #holding = new Map<string, number>();

  take(d: Delivery): void {
    if (d.partitionKey === null) return;
    const n = this.#holding.get(d.partitionKey) ?? 0;
    if (n > 0) this.overlaps.push(d.body);
    this.#holding.set(d.partitionKey, n + 1);
  }

  /** Call right before issuing the settle; `final` for ack and dead-letter. */
  settling(d: Delivery, final: boolean): void {
    if (d.partitionKey === null) return;
    this.#holding.set(d.partitionKey, (this.#holding.get(d.partitionKey) ?? 1) - 1);
    if (final) this.ended.set(d.partitionKey, [...(this.ended.get(d.partitionKey) ?? []), d.body]);
  }
}

/** What the partition bookkeeping holds in Redis: heads, held messages, per-key lists. */
async function bookkeeping(queue: string): Promise<{ heads: Record<string, string>; held: number; lists: string[] }> {
  const keys = queueKeys(prefix, queue);
  const redis = new Redis(REDIS_URL);
  try {
    const lists: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${keys.partition('')}*`, 'COUNT', 1000);
      cursor = next;
      lists.push(...found);
    } while (cursor !== '0');
    return { heads: await redis.hgetall(keys.heads), held: await redis.zcard(keys.held), lists };
  } finally {
    redis.disconnect();
  }
}

describe('redis queue: per-key order', () => {
  it('re-claims a head whose consumer died once its lease lapses; the next message of its key waits for it', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip);
    const queue = newQueueName();
    const dying = await openQueue(); // Closed below; closing again after the test is harmless.
    await dying.publish(queue, { body: 'k:0', partitionKey: 'k' });
    await dying.publish(queue, { body: 'k:1', partitionKey: 'k' });
    await dying.publish(queue, { body: 'free:0' });
    const held: Delivery[] = [];
    // Room for all three: k:1 would come in the first claim if it were not held back.
    dying.consume(queue, { concurrency: 3, visibilityTimeoutMs: 300 }, async (d) => {
      held.push(d);
    });
    await waitFor(() => held.length >= 2, { what: 'the doomed consumer to take k:0 and free:0' });
    await dying.close(); // Gone without settling anything, as a killed process.
    expect(held.map((d) => d.body)).not.toContain('k:1');

    const survivor = await openQueue();
    const seen: Array<{ body: string; attempt: number }> = [];
    let headSettled = false;
    let overtaken = false;
    let acked = 0;
    const all = deferred();
    survivor.consume(queue, { concurrency: 4, visibilityTimeoutMs: 30_000 }, async (d) => {
      seen.push({ body: d.body, attempt: d.deliveryCount });
      if (d.body === 'k:1' && !headSettled) overtaken = true;
      if (d.body === 'k:0') headSettled = true;
      await d.ack();
      acked += 1;
      if (acked === 3) all.resolve();
    });
    await all.promise;
    expect(overtaken).toBe(false);
    const keyed = seen.filter((s) => s.body.startsWith('k:'));
    expect(keyed.map((s) => s.body)).toEqual(['k:0', 'k:1']);
    // A re-claim counts the lapsed delivery (2, or more had the doomed consumer re-claimed it first).
    expect(keyed[0]?.attempt).toBeGreaterThanOrEqual(2);
    expect(keyed[1]?.attempt).toBe(1);
    expect(await survivor.stats(queue)).toMatchObject({ depth: 0, inFlight: 0 });
    expect(await bookkeeping(queue)).toEqual({ heads: {}, held: 0, lists: [] });
  });

  it('dead-lettering the head of a key promotes the next message of the key', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip);
    const queue = newQueueName();
    const q = await openQueue();
    for (let i = 0; i < 3; i += 1) await q.publish(queue, { body: `k:${i}`, partitionKey: 'k' });
    const ledger = new KeyLedger();
    const all = deferred();
    let settled = 0;
    q.consume(queue, { concurrency: 4, visibilityTimeoutMs: 30_000 }, async (d) => {
      ledger.take(d);
      await turn();
      ledger.settling(d, true);
      if (d.body === 'k:0') await d.deadLetter('poison');
      else await d.ack();
      settled += 1;
      if (settled === 3) all.resolve();
    });
    await all.promise;
    expect(ledger.overlaps).toEqual([]);
    expect(ledger.ended.get('k')).toEqual(['k:0', 'k:1', 'k:2']);
    expect(await q.stats(queue)).toMatchObject({ depth: 0, inFlight: 0, deadLettered: 1 });
    expect(await q.deadLetters(queue, { limit: 5 })).toMatchObject([{ body: 'k:0', reason: 'poison', attempts: 1 }]);
    expect(await bookkeeping(queue)).toEqual({ heads: {}, held: 0, lists: [] });
  });

  it('a delayed message behind the head keeps its own due time, and its key waits for it; a delayed head holds its key', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip);
    const queue = newQueueName();
    const q = await openQueue();
    const publishedAt = Date.now();
    await q.publish(queue, { body: 'a:0', partitionKey: 'a' });
    await q.publish(queue, { body: 'a:1', partitionKey: 'a', delayMs: 300 });
    await q.publish(queue, { body: 'a:2', partitionKey: 'a' });
    await q.publish(queue, { body: 'b:0', partitionKey: 'b', delayMs: 300 });
    await q.publish(queue, { body: 'b:1', partitionKey: 'b' });
    const ledger = new KeyLedger();
    const arrivals = new Map<string, number>();
    let settled = 0;
    const all = deferred();
    q.consume(queue, { concurrency: 4, visibilityTimeoutMs: 30_000 }, async (d) => {
      ledger.take(d);
      arrivals.set(d.body, Date.now());
      await turn();
      ledger.settling(d, true);
      await d.ack();
      settled += 1;
      if (settled === 5) all.resolve();
    });
    await all.promise;
    expect(ledger.overlaps).toEqual([]);
    expect(ledger.ended.get('a')).toEqual(['a:0', 'a:1', 'a:2']);
    expect(ledger.ended.get('b')).toEqual(['b:0', 'b:1']);
    // Held back until due, never earlier (the delay is the property under test).
    for (const body of ['a:1', 'b:0']) expect((arrivals.get(body) ?? 0) - publishedAt, body).toBeGreaterThanOrEqual(300 - 25);
    expect(await bookkeeping(queue)).toEqual({ heads: {}, held: 0, lists: [] });
  });

  it('keeps the order of a key ahead of priority: a message behind its head waits whatever its priority', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip);
    const queue = newQueueName();
    const q = await openQueue();
    await q.publish(queue, { body: 'k:0', partitionKey: 'k', priority: 0 });
    await q.publish(queue, { body: 'k:1', partitionKey: 'k', priority: 9 });
    await q.publish(queue, { body: 'free', priority: 5 });
    const order: Array<{ body: string; priority: number }> = [];
    const all = deferred();
    q.consume(queue, { concurrency: 1, visibilityTimeoutMs: 30_000 }, async (d) => {
      order.push({ body: d.body, priority: d.priority });
      await d.ack();
      if (order.length === 3) all.resolve();
    });
    await all.promise;
    expect(order).toEqual([
      { body: 'free', priority: 5 },
      { body: 'k:0', priority: 0 },
      { body: 'k:1', priority: 9 },
    ]);
  });

  it('counts messages held behind a head as waiting, and as delayed while their due time is ahead', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip);
    const queue = newQueueName();
    const q = await openQueue();
    await q.publish(queue, { body: 'k:0', partitionKey: 'k' });
    await q.publish(queue, { body: 'k:1', partitionKey: 'k' });
    await q.publish(queue, { body: 'k:2', partitionKey: 'k', delayMs: 60_000 });
    expect(await q.stats(queue)).toMatchObject({ depth: 3, delayed: 1, inFlight: 0 });

    const deliveries: Delivery[] = [];
    const got = [deferred<Delivery>(), deferred<Delivery>()];
    q.consume(queue, { concurrency: 4, visibilityTimeoutMs: 30_000 }, async (d) => {
      got[deliveries.length]?.resolve(d);
      deliveries.push(d);
    });
    const head = await got[0]!.promise;
    expect(head.body).toBe('k:0');
    expect(await q.stats(queue)).toMatchObject({ depth: 2, delayed: 1, inFlight: 1 });
    await head.ack();
    const next = await got[1]!.promise;
    expect(next.body).toBe('k:1');
    await next.ack();
    // k:2 is the head now, in the delayed set until its own due time.
    expect(await q.stats(queue)).toMatchObject({ depth: 1, delayed: 1, inFlight: 0 });
    const left = await bookkeeping(queue);
    expect(left).toMatchObject({ held: 0, lists: [] });
    expect(Object.keys(left.heads)).toEqual(['k']);
    expect(deliveries).toHaveLength(2);
  });

  it('consumers on two connections (as two processes) never hold two messages of one key at once, through retries and releases', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip);
    const queue = newQueueName();
    const [a, b] = [await openQueue(), await openQueue(`${REDIS_URL}/0`)] as const;
    const keys = Array.from({ length: 8 }, (_, k) => `key-${k}`);
    const perKey = 10;
    let published = 0;
    for (let i = 0; i < perKey; i += 1) {
      for (const key of keys) {
        // Both connections publish, with priorities that must not reorder a key.
        await (published % 2 === 0 ? a : b).publish(queue, { body: `${key}:${i}`, partitionKey: key, priority: (published * 7) % 10 });
        published += 1;
      }
      await a.publish(queue, { body: `free:${i}` });
    }
    const total = published + perKey;
    const ledger = new KeyLedger();
    const released = new Set<string>();
    const byConsumer = { a: 0, b: 0 };
    let finished = 0;
    const all = deferred();
    const handler = (who: 'a' | 'b') => async (d: Delivery) => {
      ledger.take(d);
      await turn();
      const n = Number(d.body.split(':')[1]);
      if (n % 4 === 1 && d.deliveryCount === 1) {
        ledger.settling(d, false);
        return d.retry(0);
      }
      if (n % 4 === 2 && !released.has(d.body)) {
        released.add(d.body);
        ledger.settling(d, false);
        return d.release();
      }
      ledger.settling(d, true);
      await d.ack();
      if (d.partitionKey !== null) byConsumer[who] += 1;
      finished += 1;
      if (finished === total) all.resolve();
    };
    a.consume(queue, { concurrency: 6, visibilityTimeoutMs: 30_000 }, handler('a'));
    b.consume(queue, { concurrency: 6, visibilityTimeoutMs: 30_000 }, handler('b'));
    await all.promise;
    expect(ledger.overlaps).toEqual([]);
    for (const key of keys) expect(ledger.ended.get(key), key).toEqual(Array.from({ length: perKey }, (_, i) => `${key}:${i}`));
    expect(byConsumer.a).toBeGreaterThan(0);
    expect(byConsumer.b).toBeGreaterThan(0);
    expect(await a.stats(queue)).toMatchObject({ depth: 0, inFlight: 0, delayed: 0 });
    expect(await bookkeeping(queue)).toEqual({ heads: {}, held: 0, lists: [] });
  });
});

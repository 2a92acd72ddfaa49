/**
 * What the Redis adapters promise beyond the conformance suites: a dead consumer's messages are
 * re-claimed, a message whose workers keep dying ends in the dead-letter stream, streams stay
 * bounded, the change feed crosses connections, the compare-and-set is exactly planTransition,
 * and an outage answers 503 and heals by itself.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { factory as queueFactory } from '../../src/adapters/queue/redis/index.js';
import { queueKeys } from '../../src/adapters/queue/redis/keys.js';
import { MemoryResultStore } from '../../src/adapters/result-store/memory/index.js';
import { factory as storeFactory } from '../../src/adapters/result-store/redis/index.js';
import { buildApi } from '../../src/api/build-api.js';
import { HqmEvents } from '../../src/core/events.js';
import { encodeEnvelope, normalizeMetadata } from '../../src/core/request/envelope.js';
import { newCorrelationId } from '../../src/core/request/ids.js';
import { STATUSES, type Status } from '../../src/core/request/lifecycle.js';
import type { TransitionChange } from '../../src/core/request/transition.js';
import { silentLogger, type Logger } from '../../src/ports/logger.js';
import type { Delivery, QueueBackend } from '../../src/ports/queue-backend.js';
import type { RecordChange, ResultStore } from '../../src/ports/result-store.js';
import { builtinProcessor } from '../../src/worker/processors/builtin.js';
import { WorkerPool } from '../../src/worker/runner.js';
import { apiOptions, QUEUE } from '../helpers/api.js';
import { deleteKeys, REDIS_URL, requireRedis, requireRedisServer, startRedisServer, testPrefix, type RedisServer } from '../helpers/redis.js';
import { tempDir } from '../helpers/temp.js';
import { deferred, waitFor } from '../helpers/wait.js';
import { newRequest, outcome } from '../../src/conformance/index.js';

const context = { logger: silentLogger };
const prefix = testPrefix();
let skip: string | undefined;
const opened: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  skip = (await requireRedis())?.skip;
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});
afterAll(() => deleteKeys(prefix, { url: REDIS_URL }).catch(() => undefined));

async function openQueue(options: Record<string, unknown> = {}): Promise<QueueBackend> {
  const queue = await queueFactory.create({ redis_url: REDIS_URL, key_prefix: prefix, ...options }, context);
  opened.push(queue);
  return queue;
}

async function openStore(url = REDIS_URL): Promise<ResultStore> {
  const store = await storeFactory.create({ redis_url: url, key_prefix: prefix }, context);
  opened.push(store);
  return store;
}

/** Reads keys straight from Redis, to look at what the adapters leave behind. */
function withRedis<T>(use: (redis: Redis) => Promise<T>): Promise<T> {
  return withRedisAt(REDIS_URL, use);
}

async function withRedisAt<T>(url: string, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url);
  try {
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

function envelopeFor(id: string, payload: Record<string, unknown>): string {
  return encodeEnvelope({ v: 1, correlation_id: id, timestamp: new Date().toISOString(), payload, headers: {}, metadata: normalizeMetadata({}, { timeout: 300 }), request: null, traceparent: null });
}

describe('redis queue', () => {
  it('re-claims the messages a dead consumer held, as their next attempt', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip);
    const queue = `hqm-test-${randomUUID()}`;
    const dying = await queueFactory.create({ redis_url: REDIS_URL, key_prefix: prefix }, context);
    for (let i = 0; i < 3; i += 1) await dying.publish(queue, { body: `m${i}` });
    const held: Delivery[] = [];
    dying.consume(queue, { concurrency: 3, visibilityTimeoutMs: 300 }, async (d) => {
      held.push(d);
    });
    await waitFor(() => held.length === 3, { what: 'three deliveries to the doomed consumer' });
    await dying.close(); // Gone without settling anything, as a killed process.

    const survivor = await openQueue();
    const seen: Delivery[] = [];
    const sub = survivor.consume(queue, { concurrency: 3, visibilityTimeoutMs: 30_000 }, async (d) => {
      seen.push(d);
      await d.ack();
    });
    await waitFor(() => seen.length === 3, { what: 're-claimed deliveries' });
    await sub.stop();
    expect(seen.map((d) => d.body).sort()).toEqual(['m0', 'm1', 'm2']);
    expect(seen.every((d) => d.deliveryCount === 2)).toBe(true);
    expect(seen.map((d) => d.messageId).sort()).toEqual(held.map((d) => d.messageId).sort());
    expect(await survivor.stats(queue)).toMatchObject({ depth: 0, inFlight: 0 });
  });

  it('dead-letters a message whose workers keep dying, once the store\'s attempt passes max retries', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip);
    const queueName = `hqm-test-${randomUUID()}`;
    const queue = await openQueue();
    const store = await openStore();
    const id = newCorrelationId();
    await store.create(newRequest({ id }));
    await queue.publish(queueName, { body: envelopeFor(id, { operation: 'echo', data: 'poison' }) });

    // Two workers take the request and die mid-way (they claim the record, never settle); their
    // leases are shorter than the visibility timeout, so each has lapsed by the redelivery.
    for (const attempt of [1, 2]) {
      const got = deferred<Delivery>();
      const sub = queue.consume(queueName, { concurrency: 1, visibilityTimeoutMs: 200 }, async (d) => {
        const claim = await store.claim({ id, workerId: `doomed-${d.deliveryCount}`, leaseMs: 100 });
        expect(claim).toMatchObject({ ok: true, record: { attempt } });
        got.resolve(d);
      });
      expect((await got.promise).deliveryCount).toBe(attempt);
      await sub.stop();
    }

    const events = new HqmEvents();
    const pool = new WorkerPool(
      { queue, store, events, processor: builtinProcessor, logger: silentLogger },
      { queueName, concurrency: 2, visibilityTimeoutMs: 30_000, shutdownGraceMs: 1000, workerId: 'survivor', retry: { maxAttempts: 2, baseMs: 10, maxMs: 10 }, defaultTimeoutSeconds: 300, ttlMs: 60_000 },
    );
    pool.start();
    try {
      const record = await waitFor(async () => {
        const r = await store.get(id);
        return r?.status === 'FAILED' ? r : undefined;
      }, { what: 'the request to fail' });
      expect(record.error).toMatch(/gave up after 2 runs/);
      expect(record.attempt).toBe(3);
      await waitFor(async () => (await queue.stats(queueName)).deadLettered === 1, { what: 'the dead letter' });
      const [dead] = await queue.deadLetters(queueName, { limit: 5 });
      expect(dead).toMatchObject({ attempts: 3, reason: expect.stringMatching(/gave up/) as unknown });
    } finally {
      await pool.stop();
    }
  });

  it('keeps streams bounded: settled entries leave the stream, the dead-letter stream is capped', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip);
    const queueName = `hqm-test-${randomUUID()}`;
    const queue = await openQueue({ dead_letter_max_len: 50 });
    const total = 1500;
    await Promise.all(Array.from({ length: total }, (_, i) => queue.publish(queueName, { body: String(i), priority: i % 10 })));
    let settled = 0;
    const sub = queue.consume(queueName, { concurrency: 32, visibilityTimeoutMs: 30_000 }, async (d) => {
      // A third is dead-lettered, a third retried at once and then acknowledged, a third acknowledged.
      const n = Number(d.body);
      if (n % 3 === 0) await d.deadLetter('test');
      else if (n % 3 === 1 && d.deliveryCount === 1) return d.retry(0);
      else await d.ack();
      settled += 1;
    });
    await waitFor(() => settled === total, { timeoutMs: 20_000, what: 'every message settled' });
    await sub.stop();
    const keys = queueKeys(prefix, queueName);
    const lengths = await withRedis((redis) => Promise.all(keys.streams.map((s) => redis.xlen(s))));
    expect(lengths.every((n) => n === 0)).toBe(true);
    const [leases, dead] = await withRedis((redis) => Promise.all([redis.zcard(keys.leases), redis.xlen(keys.dead)]));
    expect(leases).toBe(0);
    // The deprecated redis.dead_letter_max_len still caps it, exactly.
    expect(dead).toBe(50);
  });

  it('retries and dead-letters an outside producer’s entry that lacks the b or t field, never dropping it', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip);
    const queueName = `hqm-test-${randomUUID()}`;
    const queue = await openQueue();
    const keys = queueKeys(prefix, queueName);
    // Written by hand, as a producer that does not know OpenHQM's fields would.
    await withRedis(async (redis) => {
      await redis.xadd(keys.streams[0] as string, '*', 'b', 'plain text, no t');
      await redis.xadd(keys.streams[0] as string, '*', 'payload', '{"x":1}');
    });
    const seen: string[] = [];
    const sub = queue.consume(queueName, { concurrency: 2, visibilityTimeoutMs: 30_000 }, async (d) => {
      seen.push(`${d.deliveryCount}:${d.body}`);
      if (d.deliveryCount === 1) return d.retry(0);
      await d.deadLetter('test');
    });
    await waitFor(async () => (await withRedis((redis) => redis.xlen(keys.dead))) === 2, { timeoutMs: 10_000, what: 'both entries dead-lettered' });
    await sub.stop();
    expect(seen.sort()).toEqual(['1:', '1:plain text, no t', '2:', '2:plain text, no t']);
    const dead = await withRedis((redis) => redis.xrange(keys.dead, '-', '+'));
    expect(dead.map(([, fields]) => fields[fields.indexOf('b') + 1]).sort()).toEqual(['', 'plain text, no t']);
  });
});

describe('redis result store', () => {
  it('wakes a listener on another connection through pub/sub', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip);
    const writer = await openStore(REDIS_URL);
    // A different URL for the same server: its own command and subscriber connections.
    const reader = await openStore(`${REDIS_URL}/0`);
    const { id } = await writer.create(newRequest());
    const woke = deferred<RecordChange>();
    const off = reader.onChange((change) => {
      if (change.id === id && change.status === 'COMPLETED') woke.resolve(change);
    });
    // A read after subscribing waits for the subscription: nothing that lands later is missed.
    expect(await reader.get(id)).toMatchObject({ status: 'PENDING' });
    await writer.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
    await writer.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome('done') });
    expect(await woke.promise).toEqual({ id, status: 'COMPLETED' });
    off();
    const [, subscribers] = await withRedis(async (redis) => (await redis.call('PUBSUB', 'NUMSUB', `${prefix}:changes`)) as [string, number]);
    expect(subscribers).toBeGreaterThanOrEqual(1);
  });

  it('carries progress reports to a listener on another connection', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip);
    const writer = await openStore(REDIS_URL);
    const reader = await openStore(`${REDIS_URL}/0`);
    const { id } = await writer.create(newRequest());
    await writer.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
    const woke = deferred<RecordChange>();
    const off = reader.onChange((change) => {
      if (change.id === id && change.progress !== undefined) woke.resolve(change);
    });
    expect(await reader.get(id)).toMatchObject({ status: 'PROCESSING' });
    expect(await writer.setProgress(id, 1, 55)).toBe(true);
    expect(await woke.promise).toEqual({ id, status: 'PROCESSING', progress: 55 });
    off();
  });

  it('applies exactly the rules of planTransition (compared with the reference store)', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip);
    const redis = await openStore();
    const reference = new MemoryResultStore();
    opened.push(reference);
    const paths: Record<Status, TransitionChange[]> = {
      PENDING: [],
      PROCESSING: [{ from: ['PENDING'], to: 'PROCESSING', attempt: 1, workerId: 'w1' }],
      COMPLETED: [{ from: ['PENDING'], to: 'PROCESSING', attempt: 1 }, { from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome('r') }],
      FAILED: [{ from: ['PENDING'], to: 'PROCESSING', attempt: 1 }, { from: ['PROCESSING'], to: 'FAILED', attempt: 1, error: 'boom' }],
      TIMEOUT: [{ from: ['PENDING'], to: 'PROCESSING', attempt: 1 }, { from: ['PROCESSING'], to: 'TIMEOUT', attempt: 1, error: 'late' }],
      CANCELLED: [{ from: ['PENDING'], to: 'CANCELLED', attempt: 0 }],
    };
    const cases: Array<{ start: Status; change: TransitionChange }> = [];
    for (const start of STATUSES) {
      for (const from of [...STATUSES.map((s) => [s]), [...STATUSES]]) {
        for (const to of STATUSES) {
          for (const attempt of [0, 1, 2]) {
            const extra = attempt === 2 ? { workerId: 'w2', error: 'e2', outcome: outcome({ to }) } : attempt === 0 ? { workerId: null, error: null } : {};
            cases.push({ start, change: { from, to, attempt, ...extra } });
          }
        }
      }
    }
    const run = async (store: ResultStore, start: Status, change: TransitionChange) => {
      const { id } = await store.create(newRequest({ id: randomUUID() }));
      for (const step of paths[start]) await store.transition({ id, ...step });
      return store.transition({ id, ...change });
    };
    const comparable = (result: Awaited<ReturnType<ResultStore['transition']>>) => {
      const record = result.ok ? result.record : result.reason === 'conflict' ? result.current : undefined;
      return { ok: result.ok, status: record?.status, attempt: record?.attempt, workerId: record?.workerId, error: record?.error, progress: record?.progress, result: record?.outcome?.result, outcomeError: record?.outcome?.error };
    };
    for (let i = 0; i < cases.length; i += 100) {
      await Promise.all(
        cases.slice(i, i + 100).map(async ({ start, change }) => {
          const [actual, expected] = await Promise.all([run(redis, start, change), run(reference, start, change)]);
          expect(comparable(actual), `${start} -[${change.from.join('|')}]-> ${change.to} @${change.attempt}`).toEqual(comparable(expected));
        }),
      );
    }
    expect(cases.length).toBe(6 * 7 * 6 * 3);
  });
});

describe('redis connections', () => {
  const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

  it('closes every connection it opened: command, blocking wait and subscriber', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip);
    // The probe that checked Redis was reachable may still be closing.
    await waitFor(() => sockets() === 0, { what: 'no TCP socket open before the test' });
    const options = { redis_url: REDIS_URL, key_prefix: prefix };
    const queue = await queueFactory.create(options, context);
    const store = await storeFactory.create(options, context);
    const sub = queue.consume(`hqm-test-${randomUUID()}`, { concurrency: 1, visibilityTimeoutMs: 30_000 }, async (d) => d.ack());
    const off = store.onChange(() => undefined);
    await store.get(randomUUID()); // waits for the subscriber
    // One command connection shared by queue and store, the idle consumer's blocking wait, the subscriber.
    await waitFor(() => sockets() === 3, { what: 'three connections' });
    off();
    await sub.stop();
    await Promise.all([queue.close(), store.close(), queue.close(), store.close()]);
    await waitFor(() => sockets() === 0, { what: 'every connection closed' });
  });
});

describe('redis outage', () => {
  const dir = tempDir();

  /** A queue on a private Redis the test may stall (SIGSTOP), and the first claim that fails meanwhile. */
  async function stallableQueue(name: string): Promise<{ server: RedisServer; queue: QueueBackend; claimFailed: Promise<void> }> {
    const server = await startRedisServer({ dir: join(dir, name) });
    const failed = deferred();
    const logger: Logger = { ...silentLogger, error: (_fields, message) => (message?.startsWith('claiming messages failed') === true ? failed.resolve() : undefined), child: () => logger };
    const queue = await queueFactory.create({ redis_url: server.url, key_prefix: name, command_timeout_ms: 300 }, { logger });
    opened.push(queue);
    return { server, queue, claimFailed: failed.promise };
  }

  it('answers 503 with Retry-After while Redis is down, never a 500 or a hang, and heals without a restart', async (ctx) => {
    const missing = await requireRedisServer();
    if (missing !== undefined) return ctx.skip(missing.skip);
    let server = await startRedisServer({ dir: join(dir, 'outage') });
    const options = { redis_url: server.url, key_prefix: 'outage', command_timeout_ms: 1000 };
    const queue = await queueFactory.create(options, context);
    const store = await storeFactory.create(options, context);
    opened.push(queue, store);
    const app = await buildApi({ queue, store, events: new HqmEvents(), options: apiOptions() });
    opened.push(app);
    const submit = () => app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: { operation: 'echo', data: 'x' } } });
    try {
      const before = await submit();
      expect(before.statusCode).toBe(202);
      const id = before.json<{ correlation_id: string }>().correlation_id;

      await server.stop('SIGKILL');
      const during = await submit();
      expect(during.statusCode).toBe(503);
      expect(during.headers['retry-after']).toBeDefined();
      expect(during.json()).toMatchObject({ code: 'HQM_ERR_BACKEND_UNAVAILABLE' });
      expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(503);
      expect((await app.inject({ method: 'GET', url: `/api/v1/status/${id}` })).statusCode).toBe(503);

      server = await startRedisServer({ dir: join(dir, 'outage'), port: server.port });
      await waitFor(async () => (await app.inject({ method: 'GET', url: '/health/ready' })).statusCode === 200, { timeoutMs: 15_000, what: 'ready again' });
      expect((await submit()).statusCode).toBe(202);
      // The append-only file (fsync always) kept what was acknowledged before the kill.
      expect((await app.inject({ method: 'GET', url: `/api/v1/status/${id}` })).json()).toMatchObject({ status: 'PENDING' });
    } finally {
      await Promise.all(opened.splice(0).map((o) => o.close()));
      await server.stop();
    }
  });

  it('a claim whose reply was lost to a stall costs no attempt: its delivery is handed back, not left to lapse', async (ctx) => {
    const missing = await requireRedisServer();
    if (missing !== undefined) return ctx.skip(missing.skip);
    // A visibility timeout far beyond the test's own (below): only the hand-back can deliver in time.
    const { server, queue, claimFailed } = await stallableQueue('lost-claim');
    try {
      await queue.publish('q', { body: 'only' });
      server.process.kill('SIGSTOP');
      const received = deferred<number>();
      const sub = queue.consume('q', { concurrency: 1, visibilityTimeoutMs: 120_000 }, async (d) => {
        received.resolve(d.deliveryCount);
        await d.ack();
      });
      await claimFailed; // The claim is sent and times out; it runs once Redis does.
      server.process.kill('SIGCONT');
      expect(await received.promise).toBe(1);
      await sub.stop();
    } finally {
      server.process.kill('SIGCONT');
      await Promise.all(opened.splice(0).map((o) => o.close()));
      await server.stop();
    }
  });

  it('the hand-back after a lost claim spares a newer delivery of an entry whose older one lapsed and settled', async (ctx) => {
    const missing = await requireRedisServer();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const { server, queue, claimFailed } = await stallableQueue('lapsed');
    const keys = queueKeys('lapsed', 'q');
    try {
      await queue.publish('q', { body: 'first' });
      const seen: string[] = [];
      const firstRun = deferred<Delivery>();
      const secondRun = deferred<Delivery>();
      const later = deferred();
      const firstDone = deferred();
      const allDone = deferred();
      const sub = queue.consume('q', { concurrency: 2, visibilityTimeoutMs: 400 }, async (d) => {
        seen.push(`${d.body}#${d.deliveryCount}`);
        if (d.body === 'later') {
          await d.ack();
          return later.resolve();
        }
        if (d.deliveryCount === 1) {
          firstRun.resolve(d);
          return firstDone.promise;
        }
        secondRun.resolve(d);
        return allDone.promise; // Still running, never settled, until the test ends.
      });
      const first = await firstRun.promise;
      // Its lease lapses (no heartbeat) and this same consumer re-claims the entry as attempt 2.
      await secondRun.promise;
      await first.ack(); // The lapsed delivery settles: a no-op in Redis; the newer one must stay held.
      firstDone.resolve();
      server.process.kill('SIGSTOP');
      await claimFailed;
      server.process.kill('SIGCONT');
      // Every claim after the failure hands back orphans first; 'later' arrives through one of them.
      await queue.publish('q', { body: 'later' });
      await later.promise;
      const pending = await withRedisAt(server.url, (redis) => redis.xpending(keys.streams[0] as string, 'openhqm', '-', '+', 10));
      expect(seen).toEqual(['first#1', 'first#2', 'later#1']);
      expect(pending).toEqual([[expect.any(String), expect.any(String), expect.any(Number), 2]]);
      allDone.resolve();
      await sub.stop();
    } finally {
      server.process.kill('SIGCONT');
      await Promise.all(opened.splice(0).map((o) => o.close()));
      await server.stop();
    }
  });

  it('a submit answered 503 because Redis stalled leaves no record behind when Redis catches up', async (ctx) => {
    const missing = await requireRedisServer();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const server = await startRedisServer({ dir: join(dir, 'stall') });
    const options = { redis_url: server.url, key_prefix: 'stall', command_timeout_ms: 500 };
    const queue = await queueFactory.create(options, context);
    const store = await storeFactory.create(options, context);
    opened.push(queue, store);
    const app = await buildApi({ queue, store, events: new HqmEvents(), options: apiOptions() });
    opened.push(app);
    try {
      server.process.kill('SIGSTOP');
      const during = await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: { operation: 'echo', data: 'x' } } });
      expect(during.statusCode).toBe(503);
      server.process.kill('SIGCONT');
      // The stalled writes land once Redis runs again; the record must not be among what is left.
      await withRedisAt(server.url, async (redis) => {
        await waitFor(async () => (await redis.xlen(queueKeys('stall', QUEUE).streams[0] as string)) === 1, { timeoutMs: 10_000, what: 'the stalled XADD to land' });
        expect(await redis.keys('stall:r:*')).toEqual([]);
      });
    } finally {
      server.process.kill('SIGCONT');
      await Promise.all(opened.splice(0).map((o) => o.close()));
      await server.stop();
    }
  });
});

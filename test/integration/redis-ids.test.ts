/**
 * Ids of messages an outside producer writes to Redis without one: keyed by a secret of the
 * deployment (kept in Redis), so a stream position and a time are not enough to guess them,
 * and stable across redeliveries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { factory as queueFactory } from '../../src/adapters/queue/redis/index.js';
import { MemoryResultStore } from '../../src/adapters/result-store/memory/index.js';
import { HqmEvents } from '../../src/core/events.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { QueueBackend } from '../../src/ports/queue-backend.js';
import { WorkerPool } from '../../src/worker/runner.js';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const QUEUE = 'hqm-ids';
const context = { logger: silentLogger };
const prefixes = [testPrefix(), testPrefix()];
let skip: { skip: string } | undefined;
let raw: Redis;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  skip = await requireRedis();
  if (skip === undefined) raw = new Redis(REDIS_URL);
});

afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  if (skip !== undefined) return;
  raw.disconnect();
  for (const prefix of prefixes) await deleteKeys(prefix, { url: REDIS_URL });
});

async function open(prefix: string): Promise<QueueBackend> {
  const queue = await queueFactory.create({ redis_url: REDIS_URL, key_prefix: prefix }, context);
  closers.push(() => queue.close());
  return queue;
}

/** Runs a worker on the deployment until the bare message has been processed twice (one retry); returns the ids it saw. */
async function idsSeen(queue: QueueBackend, idSecret: string): Promise<{ ids: string[]; store: MemoryResultStore }> {
  const ids: string[] = [];
  const store = new MemoryResultStore();
  const pool = new WorkerPool(
    {
      queue,
      store,
      events: new HqmEvents(),
      logger: silentLogger,
      processor: async (_request, ctx) => {
        ids.push(ctx.idempotencyKey);
        if (ctx.attempt === 1) throw Object.assign(new Error('first attempt fails'), { retryable: true });
        return { ok: true };
      },
    },
    { queueName: QUEUE, concurrency: 1, visibilityTimeoutMs: 30_000, shutdownGraceMs: 5_000, workerId: 'w', retry: { maxAttempts: 3, baseMs: 0, maxMs: 0 }, defaultTimeoutSeconds: 60, ttlMs: 60_000, idSecret },
  );
  pool.start();
  closers.push(async () => {
    await pool.stop();
    await store.close();
  });
  await waitFor(async () => ids.length >= 2 && (await store.get(ids[0] as string))?.status === 'COMPLETED', { what: 'two attempts and a completed record' });
  return { ids, store };
}

describe('ids of outside producers’ messages (redis)', () => {
  it('keeps one secret per deployment, the same for every process, made once', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip.skip);
    const [a, b] = prefixes as [string, string];
    const first = await open(a);
    const second = await open(a);
    const secret = await first.deploymentSecret();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(await second.deploymentSecret()).toBe(secret);
    expect(await raw.get(`${a}:id-secret`)).toBe(secret);
    expect(await (await open(b)).deploymentSecret()).not.toBe(secret);
  });

  it('gives a message without an id the same id on every redelivery, and another id in another deployment', async (ctx) => {
    if (skip !== undefined) return ctx.skip(skip.skip);
    const seen: string[][] = [];
    for (const prefix of prefixes) {
      // The same stream position and no time field in both deployments: all a stranger could know.
      await raw.xadd(`${prefix}:q:{${QUEUE}}:s:0`, '1-1', 'b', JSON.stringify({ event: 'signup' }));
      const queue = await open(prefix);
      const { ids } = await idsSeen(queue, await queue.deploymentSecret());
      seen.push(ids);
    }
    const [one, two] = seen as [string[], string[]];
    expect(one.length).toBeGreaterThanOrEqual(2);
    expect(new Set(one).size).toBe(1);
    expect(new Set(two).size).toBe(1);
    expect(one[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(one[0]).not.toBe(two[0]);
  });
});

/**
 * The fused Redis pair (queue and store on one connection to one Redis, D187) against the
 * machine's Redis: its own conformance cases, and the queue and store suites run again through
 * the fused operations (src/conformance/fused.ts). Every suite works under its own key prefix,
 * deleted afterwards.
 */
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { fusedPair } from '../../src/adapters/fused/registry.js';
import { factory as queueFactory } from '../../src/adapters/queue/redis/index.js';
import { factory as storeFactory, type RedisResultStore } from '../../src/adapters/result-store/redis/index.js';
import { recordKeys } from '../../src/adapters/result-store/redis/records.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { ResultStore } from '../../src/ports/result-store.js';
import { describeFusedBackend, describeQueueBackend, describeResultStore, fusedQueueView, fusedStoreView, type FusedPair } from '../../src/conformance/index.js';
import { deleteKeys, REDIS_URL, requireRedis, requireRedisServer, startRedisCluster, testPrefix } from '../helpers/redis.js';
import { tempDir } from '../helpers/temp.js';

const context = { logger: silentLogger };
const prefix = testPrefix();

afterAll(async () => {
  await deleteKeys(prefix, { url: REDIS_URL }).catch(() => undefined);
});

async function openPair(options: Readonly<Record<string, unknown>> = {}): Promise<FusedPair> {
  const queue = await queueFactory.create({ redis_url: REDIS_URL, key_prefix: prefix, ...options }, context);
  const store = await storeFactory.create({ redis_url: REDIS_URL, key_prefix: prefix }, context);
  const fused = await fusedPair(queue, store);
  if (fused === undefined) throw new Error('a Redis queue and store on one connection did not fuse');
  return { queue, store, fused, close: async () => void (await Promise.all([queue.close(), store.close()])) };
}

async function harness<T>(make: () => T): Promise<T | { skip: string }> {
  return (await requireRedis()) ?? make();
}

describeFusedBackend('redis', () => harness(() => ({ open: openPair, crash: (pair: FusedPair) => pair.close() })));

describeQueueBackend('redis, fused', () => harness(() => ({ open: async (options?: Readonly<Record<string, unknown>>) => fusedQueueView(await openPair(options)), crash: (backend: { close(): Promise<void> }) => backend.close() })));

/** The store under each view, for the harness's list-index pruning. */
const stores = new WeakMap<ResultStore, ResultStore>();

describeResultStore('redis, fused', () =>
  harness(() => ({
    open: async () => {
      const pair = await openPair();
      const view = await fusedStoreView(pair);
      stores.set(view, pair.store);
      return view;
    },
    expire: async (view: ResultStore) => void (await (stores.get(view) as RedisResultStore).pruneListIndex()),
    stored: (_view: ResultStore, ids: readonly string[]) => storedIds(ids),
  })),
);

describe('redis fused pairing', () => {
  it('does not fuse a queue and a store on different connections', async (ctx) => {
    const missing = await requireRedis();
    if (missing !== undefined) return ctx.skip(missing.skip);
    // Another command timeout makes another connection, though the server is the same.
    const queue = await queueFactory.create({ redis_url: REDIS_URL, key_prefix: prefix, command_timeout_ms: 4_321 }, context);
    const store = await storeFactory.create({ redis_url: REDIS_URL, key_prefix: prefix }, context);
    try {
      expect(await fusedPair(queue, store)).toBeUndefined();
    } finally {
      await Promise.all([queue.close(), store.close()]);
    }
  });

  it('does not fuse on a Redis Cluster: a record, a queue and the list index live in different slots', async (ctx) => {
    const missing = await requireRedisServer();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const cluster = await startRedisCluster(join(tempDir(), 'cluster'));
    const options = { redis_url: cluster.url, cluster: true, key_prefix: prefix };
    try {
      const queue = await queueFactory.create(options, context);
      const store = await storeFactory.create(options, context);
      try {
        expect(await fusedPair(queue, store)).toBeUndefined();
      } finally {
        await Promise.all([queue.close(), store.close()]);
      }
    } finally {
      await cluster.stop();
    }
  });
});

/** How many of `ids` still have a record, trail or list-index entry. */
async function storedIds(ids: readonly string[]): Promise<number> {
  const client = new Redis(REDIS_URL);
  try {
    const indexed = (id: string) => client.hexists(`${prefix}:{${prefix}:ix}:m`, id);
    const found = await Promise.all(ids.map(async (id) => [...(await Promise.all(recordKeys(prefix, id).map((key) => client.exists(key)))), await indexed(id)].some((n) => n > 0)));
    return found.filter(Boolean).length;
  } finally {
    client.disconnect();
  }
}

/**
 * The Redis adapters against the machine's Redis (127.0.0.1:6379) and against a 3-master Redis
 * Cluster this file starts on free loopback ports. Every suite works under its own key prefix,
 * deleted afterwards.
 */
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { factory as queueFactory } from '../../src/adapters/queue/redis/index.js';
import { factory as storeFactory, type RedisResultStore } from '../../src/adapters/result-store/redis/index.js';
import { recordKeys } from '../../src/adapters/result-store/redis/records.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { HealthReport } from '../../src/ports/health.js';
import type { ResultStore } from '../../src/ports/result-store.js';
import { describeAnalyticsStore, describeQueueBackend, describeResultStore, newRequest, outcome } from '../../src/conformance/index.js';
import { deleteKeys, REDIS_URL, requireRedis, requireRedisServer, startRedisCluster, testPrefix, type RedisCluster } from '../helpers/redis.js';
import { tempDir } from '../helpers/temp.js';
import { vanishingProxy } from '../helpers/vanishing-proxy.js';
import { deferred } from '../helpers/wait.js';

const context = { logger: silentLogger };
const prefix = testPrefix();
const dir = tempDir();
let cluster: Promise<RedisCluster> | undefined;

afterAll(async () => {
  await deleteKeys(prefix, { url: REDIS_URL }).catch(() => undefined);
  if (cluster !== undefined) await (await cluster).stop();
});

/** The cluster, started once for both suites of this file. */
async function clusterOptions(): Promise<{ redis_url: string; cluster: true; key_prefix: string } | { skip: string }> {
  const missing = await requireRedisServer();
  if (missing !== undefined) return missing;
  cluster ??= startRedisCluster(join(dir, 'cluster'));
  return { redis_url: (await cluster).url, cluster: true, key_prefix: prefix };
}

describeQueueBackend('redis', async () => {
  const missing = await requireRedis();
  if (missing !== undefined) return missing;
  return {
    open: (extra) => queueFactory.create({ redis_url: REDIS_URL, key_prefix: prefix, ...extra }, context),
    // Closing without settling stands in for a crash: what it held comes back when its lease lapses.
    crash: (backend) => backend.close(),
    unreachable: unreachableHealth,
  };
});

/** health() of a queue whose connection to Redis went through a proxy that then vanished. */
async function unreachableHealth(): Promise<HealthReport> {
  const target = new URL(REDIS_URL);
  const proxy = await vanishingProxy(target.hostname, Number(target.port || 6379));
  const queue = await queueFactory.create({ redis_url: `redis://127.0.0.1:${proxy.port}`, key_prefix: prefix }, context);
  proxy.vanish();
  try {
    return await queue.health();
  } finally {
    await queue.close();
  }
}

describeResultStore('redis', async () => {
  const missing = await requireRedis();
  if (missing !== undefined) return missing;
  return {
    open: () => storeFactory.create({ redis_url: REDIS_URL, key_prefix: prefix }, context),
    expire: pruneListIndex,
    stored: (_store, ids) => storedIds({ url: REDIS_URL }, ids),
  };
});

describeQueueBackend('redis cluster', async () => {
  const options = await clusterOptions();
  if ('skip' in options) return options;
  return { open: (extra) => queueFactory.create({ ...options, ...extra }, context) };
});

describeResultStore('redis cluster', async () => {
  const options = await clusterOptions();
  if ('skip' in options) return options;
  return { open: () => storeFactory.create(options, context), expire: pruneListIndex, stored: (_store, ids) => storedIds({ url: options.redis_url, cluster: true }, ids) };
});

/** Redis expires records itself; their list index entries are pruned by a timer, run here at once. */
async function pruneListIndex(store: ResultStore): Promise<void> {
  await (store as RedisResultStore).pruneListIndex();
}
describeAnalyticsStore('redis', async () => {
  const missing = await requireRedis();
  if (missing !== undefined) return missing;
  return { open: () => storeFactory.create({ redis_url: REDIS_URL, key_prefix: prefix }, context) };
});

describeAnalyticsStore('redis cluster', async () => {
  const options = await clusterOptions();
  if ('skip' in options) return options;
  return { open: () => storeFactory.create(options, context) };
});

/**
 * How many of `ids` still have a record or events key. Redis expires keys itself (there is no
 * sweep to run), so what this finds past the TTL is a key that was never given one.
 */
async function storedIds(target: { url: string; cluster?: boolean }, ids: readonly string[]): Promise<number> {
  const seeds = target.url.split(',').map((u) => ({ host: new URL(u).hostname, port: Number(new URL(u).port) }));
  const client = target.cluster === true ? new Cluster(seeds) : new Redis(target.url);
  try {
    // One key per command: in a cluster a record and its events share a slot, but ids do not.
    // The list index's entry counts too: it must not outlive the record (its timer prunes it, `expire` at once).
    const indexed = (id: string) => client.hexists(`${prefix}:{${prefix}:ix}:m`, id);
    const found = await Promise.all(ids.map(async (id) => [...(await Promise.all(recordKeys(prefix, id).map((key) => client.exists(key)))), await indexed(id)].some((n) => n > 0)));
    return found.filter(Boolean).length;
  } finally {
    client.disconnect();
  }
}

it('redis cluster: a transition on one connection wakes a listener on another, whichever node holds the record', async (ctx) => {
  const options = await clusterOptions();
  if ('skip' in options) return ctx.skip(options.skip);
  const writer = await storeFactory.create(options, context);
  // The seeds in another order: a connection of its own, as another process would have.
  const reader = await storeFactory.create({ ...options, redis_url: options.redis_url.split(',').reverse().join(',') }, context);
  try {
    const ids = await Promise.all(Array.from({ length: 12 }, async () => (await writer.create(newRequest())).id));
    const seen = new Set<string>();
    const all = deferred();
    const off = reader.onChange((change) => {
      if (change.status === 'COMPLETED' && ids.includes(change.id)) seen.add(change.id);
      if (seen.size === ids.length) all.resolve();
    });
    await reader.get(ids[0]!); // Waits for the subscription, as a long-poll's first read does.
    for (const id of ids) {
      await writer.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
      await writer.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome(id) });
    }
    await all.promise;
    off();
    expect(seen.size).toBe(ids.length);
  } finally {
    await Promise.all([writer.close(), reader.close()]);
  }
});

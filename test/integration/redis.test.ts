/**
 * The Redis adapters against the machine's Redis (127.0.0.1:6379) and against a 3-master Redis
 * Cluster this file starts on free loopback ports. Every suite works under its own key prefix,
 * deleted afterwards.
 */
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { factory as queueFactory } from '../../src/adapters/queue/redis/index.js';
import { factory as storeFactory } from '../../src/adapters/result-store/redis/index.js';
import { silentLogger } from '../../src/ports/logger.js';
import { describeQueueBackend } from '../conformance/queue-backend.js';
import { describeResultStore } from '../conformance/result-store.js';
import { deleteKeys, REDIS_URL, requireRedis, requireRedisServer, startRedisCluster, testPrefix, type RedisCluster } from '../helpers/redis.js';
import { tempDir } from '../helpers/temp.js';

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
  return { open: () => queueFactory.create({ redis_url: REDIS_URL, key_prefix: prefix }, context) };
});

describeResultStore('redis', async () => {
  const missing = await requireRedis();
  if (missing !== undefined) return missing;
  return { open: () => storeFactory.create({ redis_url: REDIS_URL, key_prefix: prefix }, context) };
});

describeQueueBackend('redis cluster', async () => {
  const options = await clusterOptions();
  if ('skip' in options) return options;
  return { open: () => queueFactory.create(options, context) };
});

describeResultStore('redis cluster', async () => {
  const options = await clusterOptions();
  if ('skip' in options) return options;
  return { open: () => storeFactory.create(options, context) };
});

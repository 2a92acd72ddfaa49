import { afterAll } from 'vitest';
import { factory as queueFactory } from '../../src/adapters/queue/redis/index.js';
import { factory as storeFactory } from '../../src/adapters/result-store/redis/index.js';
import { silentLogger } from '../../src/ports/logger.js';
import { describeQueueBackend } from '../conformance/queue-backend.js';
import { describeResultStore } from '../conformance/result-store.js';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix } from '../helpers/redis.js';

const context = { logger: silentLogger };
const prefix = testPrefix();
afterAll(() => deleteKeys(prefix, { url: REDIS_URL }));

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

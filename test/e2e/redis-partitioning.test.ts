/**
 * Partitioning end to end on Redis (queue and store): `openhqm api` and two `openhqm worker`
 * processes share the machine's Redis under a key prefix of their own; requests with the same
 * key are processed one at a time, in submission order, through a SIGKILL of one worker
 * (test/helpers/partitioning.ts; the Redis queue keeps the order as decision D26 describes).
 */
import { afterAll, describe, it } from 'vitest';
import { runPartitionScenario } from '../helpers/partitioning.js';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix, redisEnv } from '../helpers/redis.js';

describe('partitioning across worker processes on Redis', () => {
  const prefix = testPrefix();
  afterAll(() => deleteKeys(prefix, { url: REDIS_URL }).catch(() => undefined));

  it('keeps each key in order, one at a time, through a SIGKILL of a worker', async (ctx) => {
    const missing = await requireRedis();
    if (missing !== undefined) return ctx.skip(missing.skip);
    await runPartitionScenario(redisEnv(prefix));
  }, 120_000);
});

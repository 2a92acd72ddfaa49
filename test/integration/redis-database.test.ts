/**
 * The database a Redis URL names is the database used, or start-up stops. ioredis, left alone,
 * answers a refused SELECT (`/99` on a server with 16 databases) with an error event and then
 * serves every command from database 0, where another deployment's keys may live.
 *
 * Against the machine's Redis (127.0.0.1:6379, 16 databases by default): `/99` is refused by the
 * adapters and by `openhqm api` (exit 2, naming the database and Redis's answer), and `/3` keeps
 * every key in database 3. Against a `redis-server` this file starts: a reconnect to a server
 * that no longer has the database stays down instead of falling back to database 0. Every key
 * is under a unique prefix, deleted afterwards.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { factory as queueFactory } from '../../src/adapters/queue/redis/index.js';
import { factory as storeFactory } from '../../src/adapters/result-store/redis/index.js';
import { isHqmError } from '../../src/core/errors.js';
import type { Logger } from '../../src/ports/logger.js';
import { silentLogger } from '../../src/ports/logger.js';
import { newRequest } from '../../src/conformance/index.js';
import { finished, getJson, runCli, startCli, submit } from '../helpers/cli.js';
import { countKeys, deleteKeys, REDIS_URL, requireRedis, requireRedisServer, startRedisServer, testPrefix } from '../helpers/redis.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const context = { logger: silentLogger };
const prefix = testPrefix();

/** REDIS_URL with another database. */
function inDatabase(url: string, database: number): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

afterAll(async () => {
  for (const database of [0, 3]) await deleteKeys(prefix, { url: inDatabase(REDIS_URL, database) }).catch(() => undefined);
});

async function refusal(opening: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    const opened = (await opening) as { close(): Promise<void> };
    await opened.close();
  } catch (error) {
    if (isHqmError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('the adapter opened');
}

describe('redis: the URL database', () => {
  it('refuses a database the server does not have, at once, and writes nothing to database 0', async (ctx) => {
    const missing = await requireRedis();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const url = inDatabase(REDIS_URL, 99);
    // Refused on Redis's answer, not after connect_timeout_ms: set far beyond the test's own
    // timeout, only that answer can end the open in time.
    const patient = { redis_url: url, key_prefix: prefix, connect_timeout_ms: 600_000 };
    const store = await refusal(storeFactory.create(patient, context));
    expect(store.code).toBe('HQM_ERR_CONFIG');
    expect(store.message).toMatch(/database 99\b/);
    expect(store.message).toMatch(/DB index is out of range/);
    const queue = await refusal(queueFactory.create(patient, context));
    expect(queue.code).toBe('HQM_ERR_CONFIG');
    expect(queue.message).toMatch(/database 99\b/);
    expect(await countKeys(prefix, inDatabase(REDIS_URL, 0))).toBe(0);
  });

  it('keeps every key in the database the URL names', async (ctx) => {
    const missing = await requireRedis();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const store = await storeFactory.create({ redis_url: inDatabase(REDIS_URL, 3), key_prefix: prefix }, context);
    try {
      const { id } = await store.create(newRequest());
      expect((await store.get(id))?.status).toBe('PENDING');
      expect(await countKeys(prefix, inDatabase(REDIS_URL, 3))).toBeGreaterThan(0);
      expect(await countKeys(prefix, inDatabase(REDIS_URL, 0))).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('refuses, before connecting, a database that is not a number and a cluster URL naming a database', async () => {
    const notANumber = await refusal(storeFactory.create({ redis_url: 'redis://127.0.0.1:1/abc', key_prefix: prefix }, context));
    expect(notANumber).toMatchObject({ code: 'HQM_ERR_CONFIG', message: expect.stringContaining('must be a database number') as unknown });
    const cluster = await refusal(storeFactory.create({ redis_url: 'redis://user:secret@127.0.0.1:1/2,redis://127.0.0.1:2', cluster: true, key_prefix: prefix }, context));
    expect(cluster.code).toBe('HQM_ERR_CONFIG');
    expect(cluster.message).toMatch(/database 2\b.*database 0 only/);
    expect(cluster.message).not.toContain('secret');
  });
});

describe('openhqm on a Redis URL database', () => {
  it('stops with exit code 2 on /99, naming the database and what Redis answered', async (ctx) => {
    const missing = await requireRedis();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const url = inDatabase(REDIS_URL, 99);
    const run = await runCli(['api'], {
      OPENHQM_QUEUE__TYPE: 'redis',
      OPENHQM_CACHE__TYPE: 'redis',
      OPENHQM_QUEUE__REDIS_URL: url,
      OPENHQM_CACHE__REDIS_URL: url,
      OPENHQM_REDIS__KEY_PREFIX: prefix,
      OPENHQM_SERVER__HOST: '127.0.0.1',
      OPENHQM_SERVER__PORT: '0',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/openhqm: .*database 99\b.*DB index is out of range/);
    expect(await countKeys(prefix, inDatabase(REDIS_URL, 0))).toBe(0);
  });

  it('serves from /3, with every key in database 3', async (ctx) => {
    const missing = await requireRedis();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const url = inDatabase(REDIS_URL, 3);
    const server = await startCli(['start'], {
      OPENHQM_QUEUE__TYPE: 'redis',
      OPENHQM_CACHE__TYPE: 'redis',
      OPENHQM_QUEUE__REDIS_URL: url,
      OPENHQM_CACHE__REDIS_URL: url,
      OPENHQM_REDIS__KEY_PREFIX: prefix,
    }).ready();
    try {
      expect((await getJson(`${server.url}/health/ready`)).status).toBe(200);
      const submitted = await submit(server.url, { operation: 'echo', data: 'in db 3' });
      expect(submitted.status).toBe(202);
      const done = await finished(server.url, String(submitted.body.correlation_id));
      expect(done.status).toBe('COMPLETED');
      expect(await countKeys(prefix, url)).toBeGreaterThan(0);
      expect(await countKeys(prefix, inDatabase(REDIS_URL, 0))).toBe(0);
      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      server.kill('SIGKILL');
    }
  });
});

describe('redis: a reconnect that cannot select the database', () => {
  const dir = tempDir();

  it('stays down (commands fail as unavailable) instead of serving database 0, and recovers when the database is back', async (ctx) => {
    const missing = await requireRedisServer();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const data = join(dir, 'redis');
    let redis = await startRedisServer({ dir: data, args: ['--databases', '16'] });
    const url = `${redis.url}/10`;
    const logged: string[] = [];
    const logger: Logger = {
      ...silentLogger,
      error: (_fields, message) => logged.push(message ?? ''),
      child: () => logger,
    };
    const store = await storeFactory.create({ redis_url: url, key_prefix: prefix, command_timeout_ms: 1000 }, { logger });
    try {
      const { id } = await store.create(newRequest());
      // The same port, but a server with 4 databases: database 10 is gone. Its files are elsewhere,
      // because Redis itself loads an append-only file's database 10 into database 0 when it has no 10.
      await redis.stop();
      redis = await startRedisServer({ dir: join(dir, 'four-databases'), port: redis.port, args: ['--databases', '4'] });
      await waitFor(() => logged.some((m) => m.includes('refused the database')), { timeoutMs: 10_000, what: 'the refused SELECT to be logged' });
      const write = await store.create(newRequest()).then(
        () => 'written',
        (error: unknown) => (isHqmError(error) ? error.code : String(error)),
      );
      expect(write).toBe('HQM_ERR_BACKEND_UNAVAILABLE');
      expect((await store.health()).ok).toBe(false);
      expect(await countKeys(prefix, redis.url)).toBe(0);
      // The first server again (its files, 16 databases): the connection comes back to database 10.
      await redis.stop();
      redis = await startRedisServer({ dir: data, port: redis.port, args: ['--databases', '16'] });
      const record = await waitFor(async () => store.get(id).catch(() => undefined), { timeoutMs: 15_000, intervalMs: 100, what: 'the store to reconnect to database 10' });
      expect(record.status).toBe('PENDING');
      expect(await countKeys(prefix, redis.url)).toBe(0);
    } finally {
      await store.close();
      await redis.stop();
    }
  }, 60_000);
});

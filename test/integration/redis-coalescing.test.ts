/**
 * The command connection sends every command of one event-loop turn in one socket write
 * (coalesceWrites in src/adapters/shared/redis/client.ts, D20). It patches ioredis's
 * `sendCommand` and corks its `stream`, which are not a public API: this test fails if an
 * ioredis release changes them so that writes stop being coalesced (D25 pins the range).
 */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireRedis, type RedisHandle } from '../../src/adapters/shared/redis/client.js';
import { redisConnectionSchema } from '../../src/adapters/shared/redis/options.js';
import { silentLogger } from '../../src/ports/logger.js';
import { REDIS_URL, requireRedis, testPrefix } from '../helpers/redis.js';

const prefix = testPrefix();
let skip: { skip: string } | undefined;
let handle: RedisHandle | undefined;

beforeAll(async () => {
  skip = await requireRedis();
  if (skip === undefined) handle = await acquireRedis(redisConnectionSchema.parse({ redis_url: REDIS_URL, key_prefix: prefix }), silentLogger);
});

afterAll(async () => {
  await handle?.release();
});

/** Counts the writes that reach the socket's handle (one per syscall batch) while `work` is issued. */
async function socketWrites(socket: Socket, work: () => Promise<unknown>): Promise<number> {
  let writes = 0;
  const target = socket as Socket & { _write: Socket['_write']; _writev?: Socket['_writev'] };
  const write = target._write;
  const writev = target._writev;
  target._write = function (...args: Parameters<Socket['_write']>) {
    writes += 1;
    return write.apply(this, args);
  };
  if (writev !== undefined) {
    target._writev = function (...args: Parameters<NonNullable<Socket['_writev']>>) {
      writes += 1;
      return writev.apply(this, args);
    };
  }
  try {
    await work();
  } finally {
    target._write = write;
    if (writev !== undefined) target._writev = writev;
  }
  return writes;
}

describe('redis: write coalescing on the shared command connection', () => {
  it('sends 100 commands issued in one turn in one socket write', async (ctx) => {
    if (skip !== undefined || handle === undefined) return ctx.skip(skip?.skip ?? 'no redis');
    const client = handle.client as typeof handle.client & { stream?: Socket };
    const socket = client.stream;
    expect(socket, 'ioredis keeps its socket in `stream`').toBeDefined();
    const key = `${prefix}:coalesce`;
    const writes = await socketWrites(socket as Socket, () => Promise.all(Array.from({ length: 100 }, (_, i) => client.set(`${key}:${i}`, String(i), 'PX', 60_000))));
    expect(writes).toBe(1);
    // And the replies came back to the right callers.
    expect(await client.get(`${key}:42`)).toBe('42');
  });

  it('leaves later turns uncorked: the next turn’s commands go out in a write of their own', async (ctx) => {
    if (skip !== undefined || handle === undefined) return ctx.skip(skip?.skip ?? 'no redis');
    const client = handle.client as typeof handle.client & { stream?: Socket };
    const writes = await socketWrites(client.stream as Socket, async () => {
      await client.ping();
      await client.ping();
    });
    expect(writes).toBe(2);
  });
});

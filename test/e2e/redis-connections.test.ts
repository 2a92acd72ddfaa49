/**
 * No connection starvation: 256 clients at once against one API process on Redis. The
 * original's pool raised "Too many connections" at 64 clients (503s, and 404s for requests
 * that existed); here every command of the process shares one pipelined connection, so there
 * is nothing to run out of. Every client submits, reads the status and long-polls the result.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startCli } from '../helpers/cli.js';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix, redisEnv } from '../helpers/redis.js';

const CLIENTS = 256;
const ROUNDS = 3;

describe('256 concurrent clients on Redis', () => {
  const prefix = testPrefix();
  afterAll(() => deleteKeys(prefix, { url: REDIS_URL }).catch(() => undefined));

  it('answers every request without a 5xx and finds every accepted request', async (ctx) => {
    const missing = await requireRedis();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const server = await startCli(['start'], {
      ...redisEnv(prefix),
      OPENHQM_WORKER__COUNT: '32',
    }).ready();
    const statuses = new Map<string, number>();
    const count = (what: string, status: number): void => {
      const key = `${what} ${status}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    };
    const wrong: string[] = [];
    try {
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, client) => {
          for (let round = 0; round < ROUNDS; round += 1) {
            const token = `${client}-${round}`;
            const submitted = await fetch(`${server.url}/api/v1/submit`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ payload: { operation: 'echo', data: token } }),
            });
            count('submit', submitted.status);
            if (submitted.status !== 202) continue;
            const { correlation_id: id } = (await submitted.json()) as { correlation_id: string };
            const status = await fetch(`${server.url}/api/v1/status/${id}`);
            count('status', status.status);
            await status.body?.cancel();
            const result = await fetch(`${server.url}/api/v1/response/${id}?wait=20`);
            count('response', result.status);
            const body = (await result.json()) as { result?: { output?: string } };
            if (result.status === 200 && body.result?.output !== token) wrong.push(token);
          }
        }),
      );
      expect(Object.fromEntries(statuses)).toEqual({ 'submit 202': CLIENTS * ROUNDS, 'status 200': CLIENTS * ROUNDS, 'response 200': CLIENTS * ROUNDS });
      expect(wrong).toEqual([]);
      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      server.kill('SIGKILL');
    }
  }, 120_000);
});

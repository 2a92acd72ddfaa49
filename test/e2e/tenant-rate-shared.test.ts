/**
 * The per-tenant submit rate is one count across API processes when they share a Redis: two
 * `openhqm api` processes on the machine's Redis together accept a tenant's burst, not a burst
 * each, while another tenant keeps its own count.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startCli, type CliProcess } from '../helpers/cli.js';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix, redisEnv } from '../helpers/redis.js';

const ACME = 'acme-submit-key-0123456789abcdef';
const GLOBEX = 'globex-submit-key-0123456789abcdef';

describe('per-tenant submit rate shared through Redis', () => {
  const prefix = testPrefix();
  afterAll(() => deleteKeys(prefix, { url: REDIS_URL }).catch(() => undefined));

  it('two API processes share one count per tenant: the burst is spent across both, then both answer 429', async (ctx) => {
    const missing = await requireRedis();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const env = {
      ...redisEnv(prefix),
      OPENHQM_AUTH__ENABLED: 'true',
      OPENHQM_AUTH__API_KEYS: JSON.stringify([
        { id: 'acme', key: ACME, tenant: 'acme', roles: ['submit'] },
        { id: 'globex', key: GLOBEX, tenant: 'globex', roles: ['submit'] },
      ]),
      // A window of an hour: it cannot close while the test runs.
      OPENHQM_AUTH__DEFAULT_TENANT__RATE_PER_SECOND: '0.001',
      OPENHQM_AUTH__DEFAULT_TENANT__BURST: '4',
    };
    const processes: CliProcess[] = [];
    try {
      processes.push(await startCli(['api'], env).ready(), await startCli(['api'], env).ready());
      const [first, second] = processes.map((p) => p.url) as [string, string];
      const submit = (url: string, key: string) =>
        fetch(`${url}/api/v1/submit`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify({ payload: { n: 1 } }) });

      const statuses: number[] = [];
      for (const url of [first, second, first, second]) statuses.push((await submit(url, ACME)).status);
      expect(statuses).toEqual([202, 202, 202, 202]);
      for (const url of [first, second]) {
        const over = await submit(url, ACME);
        expect(over.status).toBe(429);
        expect(over.headers.get('ratelimit-remaining')).toBe('0');
        expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(await over.json()).toMatchObject({ code: 'HQM_ERR_RATE_LIMITED' });
      }
      // Another tenant has a count of its own.
      expect((await submit(second, GLOBEX)).status).toBe(202);
    } finally {
      for (const p of processes) p.kill('SIGTERM');
      await Promise.all(processes.map((p) => p.exited));
    }
  });
});

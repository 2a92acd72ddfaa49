/** Idempotency-Key through the real CLI: two concurrent submits with one key, an `api` and a `worker` process. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { finished, getJson, startCli } from '../helpers/cli.js';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix, redisEnv } from '../helpers/redis.js';
import { tempDir } from '../helpers/temp.js';

const MODULE = fileURLToPath(new URL('../fixtures/processor.mjs', import.meta.url));

async function submitWithKey(url: string, key: string, payload: unknown): Promise<{ status: number; replayed: string | null; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/api/v1/submit`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ payload }),
  });
  return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: (await res.json()) as Record<string, unknown> };
}

describe('two concurrent submits with one Idempotency-Key', () => {
  const dir = tempDir();
  const prefix = testPrefix();
  afterAll(() => deleteKeys(prefix, { url: REDIS_URL }).catch(() => undefined));

  const backends: Record<string, Record<string, string>> = {
    sqlite: { OPENHQM_SQLITE__PATH: join(dir, 'idempotency.db') },
    redis: redisEnv(prefix),
  };

  for (const backend of Object.keys(backends)) it(`${backend}: create one request, answered twice with its id, run once`, async (ctx) => {
    if (backend === 'redis') {
      const missing = await requireRedis();
      if (missing !== undefined) return ctx.skip(missing.skip);
    }
    const env = { ...backends[backend], OPENHQM_WORKER__PROCESSOR_MODULE: MODULE };
    const [api, worker] = await Promise.all([startCli(['api'], env).ready(), startCli(['worker'], env).ready()]);
    const marker = join(dir, `runs-${backend}.txt`);
    const payload = { mode: 'record_run', marker };

    const answers = await Promise.all([submitWithKey(api.url, '"order-42"', payload), submitWithKey(api.url, '"order-42"', payload)]);
    const ids = answers.map((a) => a.body.correlation_id);
    expect(ids[0]).toEqual(expect.any(String));
    expect(ids[1]).toBe(ids[0]);
    // One created it; the other answered it again (202, or 200 once it finished).
    expect(answers.map((a) => a.replayed).sort()).toEqual([null, 'true'].sort());
    const first = answers.find((a) => a.replayed === null);
    expect(first?.status).toBe(202);
    expect([200, 202]).toContain(answers.find((a) => a.replayed === 'true')?.status);

    const id = ids[0] as string;
    expect(await finished(api.url, id)).toMatchObject({ status: 'COMPLETED', result: { ran: true } });
    // A repeat after it finished answers its result, still without a second request.
    const late = await submitWithKey(api.url, '"order-42"', payload);
    expect(late).toMatchObject({ status: 200, replayed: 'true', body: { correlation_id: id, status: 'COMPLETED' } });
    const trail = (await getJson(`${api.url}/api/v1/requests/${id}/events`)).body.events as Array<{ to: string }>;
    expect(trail.map((e) => e.to)).toEqual(['PENDING', 'PROCESSING', 'COMPLETED']);
    expect(readFileSync(marker, 'utf8')).toBe(`${id}\n`);

    for (const p of [api, worker]) p.kill('SIGTERM');
    expect((await api.exited).code).toBe(0);
    expect((await worker.exited).code).toBe(0);
    // After a graceful stop nothing is left to run it again.
    expect(readFileSync(marker, 'utf8')).toBe(`${id}\n`);
  }, 90_000);
});

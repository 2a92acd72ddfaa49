/** Chaining through the real CLI: an `api` and a `worker` process; the second step sees the first one's result. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { followUpIdOf } from '../../src/core/request/chain.js';
import { finished, getJson, startCli } from '../helpers/cli.js';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix, redisEnv } from '../helpers/redis.js';
import { tempDir } from '../helpers/temp.js';

const MODULE = fileURLToPath(new URL('../fixtures/processor.mjs', import.meta.url));

describe('a two-step chain across an api and a worker process', () => {
  const dir = tempDir();
  const prefix = testPrefix();
  afterAll(() => deleteKeys(prefix, { url: REDIS_URL }).catch(() => undefined));

  const backends: Record<string, Record<string, string>> = {
    sqlite: { OPENHQM_SQLITE__PATH: join(dir, 'chain.db') },
    redis: redisEnv(prefix),
  };

  for (const backend of Object.keys(backends)) it(`${backend}: the follow-up runs with payload.previous, and next_id links the two`, async (ctx) => {
    if (backend === 'redis') {
      const missing = await requireRedis();
      if (missing !== undefined) return ctx.skip(missing.skip);
    }
    const env = { ...backends[backend], OPENHQM_WORKER__PROCESSOR_MODULE: MODULE };
    const [api, worker] = await Promise.all([startCli(['api'], env).ready(), startCli(['worker'], env).ready()]);

    const res = await fetch(`${api.url}/api/v1/submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload: { step: 'one' }, metadata: { then: { payload: { step: 'two' }, metadata: { extra: 'second' } } } }),
    });
    expect(res.status).toBe(202);
    const id = ((await res.json()) as { correlation_id: string }).correlation_id;

    const first = await finished(api.url, id);
    const nextId = followUpIdOf(id);
    expect(first).toMatchObject({ status: 'COMPLETED', next_id: nextId, result: { echo: { step: 'one' } } });
    expect((await getJson(`${api.url}/api/v1/status/${id}`)).body).toMatchObject({ status: 'COMPLETED', next_id: nextId });
    const second = await finished(api.url, nextId);
    expect(second).toMatchObject({ status: 'COMPLETED', result: { echo: { step: 'two', previous: { echo: { step: 'one' } } }, metadata_extra: 'second' } });
    const trail = (await getJson(`${api.url}/api/v1/requests/${id}/events`)).body.events as Array<{ to: string; note?: unknown }>;
    expect(trail.filter((e) => e.note !== undefined)).toEqual([expect.objectContaining({ to: 'COMPLETED', note: { kind: 'chained', detail: { next_id: nextId } } })]);

    for (const p of [api, worker]) p.kill('SIGTERM');
    expect((await api.exited).code).toBe(0);
    expect((await worker.exited).code).toBe(0);
  }, 90_000);
});

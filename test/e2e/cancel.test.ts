/** Cancel across processes: `openhqm api` and `openhqm worker` sharing one SQLite file, or Redis. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { finished, getJson, startCli, submit } from '../helpers/cli.js';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix, redisEnv } from '../helpers/redis.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const MODULE = fileURLToPath(new URL('../fixtures/processor.mjs', import.meta.url));

async function cancel(url: string, id: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/api/v1/requests/${id}`, { method: 'DELETE' });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function trail(url: string, id: string): Promise<string[]> {
  const res = await getJson(`${url}/api/v1/requests/${id}/events`);
  return (res.body.events as Array<{ to: string }>).map((e) => e.to);
}

describe('cancel across an api and a worker process', () => {
  const dir = tempDir();
  const prefix = testPrefix();
  afterAll(() => deleteKeys(prefix, { url: REDIS_URL }).catch(() => undefined));

  const backends: Record<string, Record<string, string>> = {
    sqlite: { OPENHQM_SQLITE__PATH: join(dir, 'cancel.db') },
    redis: redisEnv(prefix),
  };

  for (const backend of Object.keys(backends)) it(`${backend}: a PENDING request never runs, a PROCESSING one sees its signal abort, a finished one is 409`, async (ctx) => {
    if (backend === 'redis') {
      const missing = await requireRedis();
      if (missing !== undefined) return ctx.skip(missing.skip);
    }
    const env = { ...backends[backend], OPENHQM_WORKER__PROCESSOR_MODULE: MODULE };
    const api = await startCli(['api'], env).ready();

    // PENDING: cancelled before any worker exists.
    const pending = (await submit(api.url, { mode: 'echo' })).body.correlation_id as string;
    const cancelledPending = await cancel(api.url, pending);
    expect(cancelledPending.status).toBe(200);
    expect(cancelledPending.body).toMatchObject({ correlation_id: pending, status: 'CANCELLED', error_code: 'HQM_ERR_CANCELLED' });

    // PROCESSING: the worker (another process) hears of the cancel through the store's change feed.
    const marker = join(dir, `aborted-${backend}.txt`);
    const running = (await submit(api.url, { mode: 'until_aborted', marker })).body.correlation_id as string;
    const worker = await startCli(['worker'], env).ready();
    await waitFor(async () => (await getJson(`${api.url}/api/v1/status/${running}`)).body.progress === 10, { timeoutMs: 30_000, what: 'the processor to start' });
    const cancelledRunning = await cancel(api.url, running);
    expect(cancelledRunning.status).toBe(200);
    expect(cancelledRunning.body).toMatchObject({ status: 'CANCELLED' });
    await waitFor(() => existsSync(marker), { timeoutMs: 10_000, what: 'the processor to see its signal abort' });
    expect(readFileSync(marker, 'utf8')).toBe('CancelAbort');

    // Finished: too late.
    const done = (await submit(api.url, { mode: 'echo' })).body.correlation_id as string;
    expect(await finished(api.url, done)).toMatchObject({ status: 'COMPLETED' });
    const late = await cancel(api.url, done);
    expect(late.status).toBe(409);
    expect(late.body).toEqual({ detail: expect.any(String), code: 'HQM_ERR_ALREADY_FINISHED', status: 'COMPLETED' });

    // The worker has long received the cancelled PENDING request's message (submitted first): it never ran,
    // and the aborted one's late result did not overwrite its cancel.
    expect(await trail(api.url, pending)).toEqual(['PENDING', 'CANCELLED']);
    expect(await trail(api.url, running)).toEqual(['PENDING', 'PROCESSING', 'CANCELLED']);
    expect((await getJson(`${api.url}/api/v1/response/${running}`)).body).toMatchObject({ status: 'CANCELLED', result: null });

    for (const p of [api, worker]) p.kill('SIGTERM');
    expect((await api.exited).code).toBe(0);
    expect((await worker.exited).code).toBe(0);
  }, 90_000);
});

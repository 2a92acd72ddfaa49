/**
 * Dead letters across processes: a request fails to the dead letters in `openhqm worker`, an
 * operator finds it through `openhqm api`, replays it with a fixed payload, and it completes —
 * under the same correlation id — on SQLite (one shared file) and on Redis.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { finished, getJson, startCli, submit } from '../helpers/cli.js';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix, redisEnv } from '../helpers/redis.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const MODULE = fileURLToPath(new URL('../fixtures/processor.mjs', import.meta.url));

describe('dead letters across an api and a worker process', () => {
  const dir = tempDir();
  const prefix = testPrefix();
  afterAll(() => deleteKeys(prefix, { url: REDIS_URL }).catch(() => undefined));

  const backends: Record<string, Record<string, string>> = {
    sqlite: { OPENHQM_SQLITE__PATH: join(dir, 'dead-letters.db') },
    redis: redisEnv(prefix),
  };

  for (const backend of Object.keys(backends)) it(`${backend}: a failed request is dead-lettered (logged at error), replayed with a fixed payload, and completes`, async (ctx) => {
    if (backend === 'redis') {
      const missing = await requireRedis();
      if (missing !== undefined) return ctx.skip(missing.skip);
    }
    const env = { ...backends[backend], OPENHQM_WORKER__PROCESSOR_MODULE: MODULE };
    const api = await startCli(['api'], env).ready();
    const worker = await startCli(['worker'], env).ready();

    const id = (await submit(api.url, { mode: 'permanent' })).body.correlation_id as string;
    expect(await finished(api.url, id)).toMatchObject({ status: 'FAILED', error: 'bad input' });
    const listed = await waitFor(
      async () => {
        const page = await getJson(`${api.url}/api/v1/dead-letters`);
        return (page.body.dead_letters as Array<Record<string, unknown>>).find((d) => d.correlation_id === id);
      },
      { timeoutMs: 15_000, what: 'the dead letter to be listed' },
    );
    expect(listed).toMatchObject({ reason: 'bad input', attempts: 1, status: 'FAILED', attempt_errors: [{ attempt: 1, error: 'bad input' }] });
    const marked = worker.output.map(jsonLine).find((l) => typeof l.msg === 'string' && l.msg.startsWith('request dead-lettered'));
    expect(marked).toMatchObject({ level: 'error', correlation_id: id, reason: 'processing_failed' });

    const replay = await fetch(`${api.url}/api/v1/dead-letters/${String(listed.id)}/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload: { mode: 'echo', fixed: true } }),
    });
    expect(replay.status).toBe(202);
    expect(await replay.json()).toMatchObject({ correlation_id: id, status: 'PENDING' });
    expect(await finished(api.url, id)).toMatchObject({ status: 'COMPLETED', result: { echo: { mode: 'echo', fixed: true } } });
    const events = (await getJson(`${api.url}/api/v1/requests/${id}/events`)).body.events as Array<{ to: string; kind?: string }>;
    expect(events.map((e) => (e.kind === undefined ? e.to : `${e.to} (${e.kind})`))).toEqual(['PENDING', 'PROCESSING', 'FAILED', 'PENDING (replayed)', 'PROCESSING', 'COMPLETED']);
    expect((await getJson(`${api.url}/api/v1/dead-letters/${String(listed.id)}`)).status).toBe(404);

    for (const p of [api, worker]) p.kill('SIGTERM');
    expect((await api.exited).code).toBe(0);
    expect((await worker.exited).code).toBe(0);
  }, 90_000);
});

function jsonLine(line: string): Record<string, unknown> {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return {}; // Not a log line (stderr text).
  }
}

/**
 * Delayed requests through the real CLI: an `api` and two `worker` processes with a visibility
 * timeout of 2 s, and requests delayed by 10 s (metadata.delay and metadata.run_at). Each runs
 * exactly once, never before it is due: the delay is not a visibility timeout that lapses and
 * redelivers (D100). Counted by a processor module that logs every run to a file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { finished, getJson, startCli, submit, type CliProcess } from '../helpers/cli.js';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix } from '../helpers/redis.js';
import { tempDir } from '../helpers/temp.js';

const MODULE = fileURLToPath(new URL('../fixtures/run-log.mjs', import.meta.url));
const DELAY_SECONDS = 10;

interface Run {
  readonly id: string;
  readonly at: number;
  readonly attempt: number;
}

describe('delayed requests across processes', () => {
  const dir = tempDir();
  const prefix = testPrefix();
  afterAll(() => deleteKeys(prefix, { url: REDIS_URL }).catch(() => undefined));

  const backends: Array<[string, () => Promise<Record<string, string> | { skip: string }>]> = [
    ['sqlite', async () => ({ OPENHQM_SQLITE__PATH: join(dir, 'delays.db') })],
    [
      'redis',
      async () => {
        const missing = await requireRedis();
        if (missing !== undefined) return missing;
        const redis = { OPENHQM_QUEUE__TYPE: 'redis', OPENHQM_CACHE__TYPE: 'redis', OPENHQM_QUEUE__REDIS_URL: REDIS_URL, OPENHQM_CACHE__REDIS_URL: REDIS_URL };
        return { ...redis, OPENHQM_REDIS__KEY_PREFIX: prefix };
      },
    ],
  ];

  for (const [name, backend] of backends) {
    it(`${name}: a 10-second delay outlasting a 2-second visibility timeout runs once, when due`, async (ctx) => {
      const made = await backend();
      if ('skip' in made) return ctx.skip(String(made.skip));
      const log = join(dir, `${name}-runs.jsonl`);
      const env = { ...made, OPENHQM_WORKER__PROCESSOR_MODULE: MODULE, OPENHQM_QUEUE__VISIBILITY_TIMEOUT_SECONDS: '2', OPENHQM_WORKER__TIMEOUT_SECONDS: '5' };
      const processes: CliProcess[] = [];
      try {
        const api = await startCli(['api'], env).ready();
        processes.push(api);
        for (const worker of ['w1', 'w2']) processes.push(await startCli(['worker'], { ...env, OPENHQM_WORKER__ID: worker }).ready());

        const submitted = Date.now();
        const byDelay = await submit(api.url, { log }, { delay: DELAY_SECONDS });
        const byTime = await submit(api.url, { log }, { run_at: new Date(submitted + DELAY_SECONDS * 1000).toISOString() });
        const now = await submit(api.url, { log });
        for (const res of [byDelay, byTime, now]) expect(res).toMatchObject({ status: 202, body: { status: 'PENDING' } });
        const delayed = [byDelay, byTime].map((r) => r.body.correlation_id as string);

        const dueAt = new Map<string, number>();
        for (const id of delayed) {
          const status = await getJson(`${api.url}/api/v1/status/${id}`);
          expect(status.body).toMatchObject({ status: 'PENDING', run_at: expect.any(String) });
          const runAt = Date.parse(status.body.run_at as string);
          expect(runAt).toBeGreaterThanOrEqual(submitted + DELAY_SECONDS * 1000 - 1);
          dueAt.set(id, runAt);
        }
        // The undelayed one runs at once, while the others still wait: the workers are live.
        await finished(api.url, now.body.correlation_id as string);
        for (const id of delayed) expect((await getJson(`${api.url}/api/v1/status/${id}`)).body.status).toBe('PENDING');

        // Its timeout (5 s) counts from when it is due: it completes, 10 s after submission.
        for (const id of delayed) expect(await finished(api.url, id, 40_000)).toMatchObject({ status: 'COMPLETED' });

        const runs = readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Run);
        for (const id of delayed) {
          const own = runs.filter((r) => r.id === id);
          expect(own, `runs of ${id}`).toHaveLength(1);
          expect(own[0]?.attempt).toBe(1);
          expect(own[0]?.at).toBeGreaterThanOrEqual(dueAt.get(id) ?? Number.NaN);
          const trail = (await getJson(`${api.url}/api/v1/requests/${id}/events`)).body.events as Array<{ to: string; attempt: number }>;
          expect(trail.map((e) => `${e.to}:${e.attempt}`)).toEqual(['PENDING:0', 'PROCESSING:1', 'COMPLETED:1']);
        }
      } finally {
        for (const p of processes) p.kill('SIGTERM');
        await Promise.all(processes.map((p) => p.exited));
      }
    }, 90_000);
  }
});

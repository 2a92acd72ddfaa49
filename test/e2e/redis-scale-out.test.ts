/**
 * Scale-out on Redis: one `openhqm api` and two `openhqm worker` processes share the machine's
 * Redis. One worker is killed (SIGKILL) in the middle of 3,000 requests; the other takes over
 * what it held once the visibility timeout lapses, and every accepted request completes with
 * its own result, exactly once. A long-poll on the API is answered by whichever worker finishes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { finished, getJson, startCli, submit, type CliProcess } from '../helpers/cli.js';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix, redisEnv } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const TOTAL = 3000;
const CONCURRENCY = 32;

describe('scale-out on Redis: one API, two workers', () => {
  const prefix = testPrefix();
  afterAll(() => deleteKeys(prefix, { url: REDIS_URL }).catch(() => undefined));

  it('completes every accepted request when a worker is killed mid-way, and answers long-polls from any worker', async (ctx) => {
    const missing = await requireRedis();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const env = {
      ...redisEnv(prefix),
      OPENHQM_WORKER__COUNT: '16',
      OPENHQM_QUEUE__VISIBILITY_TIMEOUT_SECONDS: '2',
      // Lets the long-poll below wait longer than the test may run, so only a wake-up answers it.
      OPENHQM_API__MAX_WAIT_SECONDS: '600',
    };
    const api = await startCli(['api'], env).ready();
    const processes: CliProcess[] = [api];
    try {
      // A long-poll waiting before any worker runs is answered by the worker that finishes it.
      const early = await submit(api.url, { operation: 'uppercase', data: 'long-polled' });
      const polled = getJson(`${api.url}/api/v1/response/${early.body.correlation_id as string}?wait=600`);
      const doomed = await startCli(['worker'], { ...env, OPENHQM_WORKER__ID: 'doomed' }).ready();
      const survivor = await startCli(['worker'], { ...env, OPENHQM_WORKER__ID: 'survivor' }).ready();
      processes.push(doomed, survivor);
      expect(await polled).toMatchObject({ status: 200, body: { status: 'COMPLETED', result: { output: 'LONG-POLLED' } } });

      const accepted = new Map<string, string>();
      let next = 0;
      const refused: number[] = [];
      const load = Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < TOTAL) {
            const token = `token-${next}`;
            next += 1;
            const res = await submit(api.url, { operation: 'echo', data: token });
            if (res.status === 202) accepted.set(res.body.correlation_id as string, token);
            else refused.push(res.status);
          }
        }),
      );
      await waitFor(() => accepted.size >= TOTAL / 3, { timeoutMs: 60_000, what: 'a third of the requests accepted' });
      doomed.kill('SIGKILL');
      await load;
      expect((await doomed.exited).signal).toBe('SIGKILL');
      expect(refused).toEqual([]);
      expect(accepted.size).toBe(TOTAL);

      const byWorker = new Map<string, number>();
      for (const [id, token] of accepted) {
        const result = await finished(api.url, id, 60_000);
        expect(result, id).toMatchObject({ status: 'COMPLETED', result: { output: token } });
      }
      // Exactly once, and both workers did part of the work.
      for (const id of accepted.keys()) {
        const trail = (await getJson(`${api.url}/api/v1/requests/${id}/events`)).body.events as Array<{ to: string; worker_id: string | null }>;
        const completions = trail.filter((e) => e.to === 'COMPLETED');
        expect(completions, id).toHaveLength(1);
        const worker = completions[0]?.worker_id ?? '?';
        byWorker.set(worker, (byWorker.get(worker) ?? 0) + 1);
      }
      expect([...byWorker.keys()].sort()).toEqual(['doomed', 'survivor']);

      for (const p of [api, survivor]) p.kill('SIGTERM');
      expect((await api.exited).code).toBe(0);
      expect((await survivor.exited).code).toBe(0);
    } finally {
      for (const p of processes) p.kill('SIGKILL');
    }
  }, 180_000);
});

/**
 * `GET /api/v1/stats` through the real CLI: `openhqm api` and `openhqm worker` as separate
 * processes on one SQLite file, each adding its own counts (submits from the API, outcomes and
 * latencies from the worker) to the same hourly counters; and the last-minute counts of
 * `GET /api/v1/queues`, which the api process answers from the worker's per-minute counts.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finished, getJson, startCli, submit } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

describe('hourly analytics across an api and a worker process', () => {
  const dir = tempDir();

  it('counts what both processes saw, under the queue name clients use (the worker’s last counts are written by its stop at the latest)', async () => {
    const env = { OPENHQM_SQLITE__PATH: join(dir, 'stats.db'), OPENHQM_WORKER__MAX_RETRIES: '0' };
    const api = await startCli(['api'], env).ready();
    const worker = await startCli(['worker'], env).ready();
    const ids = await Promise.all([
      submit(api.url, { operation: 'echo', data: 1 }),
      submit(api.url, { operation: 'uppercase', data: 'x' }),
      submit(api.url, { operation: 'error' }),
    ]).then((answers) => answers.map((a) => a.body.correlation_id as string));
    for (const id of ids) await finished(api.url, id);
    // The worker's counts reach the file by its stop at the latest.
    worker.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    const stats = await waitFor(async () => {
      const res = await getJson(`${api.url}/api/v1/stats?queue=default`);
      const total = res.body.total as Record<string, unknown>;
      return total.submitted === 3 ? res : undefined;
    }, { what: 'the API’s submit counts to be written' });
    expect(stats.status).toBe(200);
    expect(stats.body.total).toMatchObject({
      submitted: 3,
      completed: 2,
      failed: 1,
      dead_lettered: 1,
      queue_wait_ms: { count: 3 },
      processing_time_ms: { count: 3 },
    });
    api.kill('SIGTERM');
    expect((await api.exited).code).toBe(0);
  }, 60_000);

  it('GET /api/v1/queues on the api process shows what the worker process finished in the last minute', async () => {
    const env = { OPENHQM_SQLITE__PATH: join(dir, 'queues.db'), OPENHQM_WORKER__MAX_RETRIES: '0' };
    const api = await startCli(['api'], env).ready();
    const worker = await startCli(['worker'], env).ready();
    const ids = await Promise.all([
      submit(api.url, { operation: 'echo', data: 1 }),
      submit(api.url, { operation: 'echo', data: 2 }),
      submit(api.url, { operation: 'error' }),
    ]).then((answers) => answers.map((a) => a.body.correlation_id as string));
    for (const id of ids) await finished(api.url, id);
    // The worker keeps running: its once-a-second flush, not its stop, brings the counts.
    const listed = await waitFor(async () => {
      const res = await getJson(`${api.url}/api/v1/queues`);
      const [queue] = res.body.queues as Array<Record<string, number>>;
      return queue !== undefined && (queue.completed_last_minute ?? 0) + (queue.failed_last_minute ?? 0) === 3 ? res : undefined;
    }, { what: 'the worker’s outcomes on the api process' });
    expect(listed.status).toBe(200);
    expect(listed.body.window).toEqual({ seconds: 60, scope: 'deployment' });
    expect(listed.body.queues).toEqual([expect.objectContaining({ name: 'default', completed_last_minute: 2, failed_last_minute: 1, depth: 0 })]);
    for (const p of [worker, api]) p.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    expect((await api.exited).code).toBe(0);
  }, 60_000);
});

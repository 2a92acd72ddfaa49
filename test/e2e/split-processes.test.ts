/** `openhqm api` and `openhqm worker` as separate processes sharing one SQLite file. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getJson, startCli, submit } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

describe('API and worker in separate processes', () => {
  const dir = tempDir();

  it('a long-poll on the API is answered when a worker in another process finishes', async () => {
    // A wait far longer than the test may run: only the worker's change, reaching the API
    // process, can answer it in time (a wait that ran out would answer 200 all the same).
    const env = { OPENHQM_SQLITE__PATH: join(dir, 'split.db'), OPENHQM_API__MAX_WAIT_SECONDS: '600' };
    const api = await startCli(['api'], env).ready();
    const accepted = await submit(api.url, { operation: 'uppercase', data: 'across processes' });
    const id = accepted.body.correlation_id as string;
    const polled = getJson(`${api.url}/api/v1/response/${id}?wait=600`);
    const worker = await startCli(['worker'], env).ready();
    const res = await polled;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'COMPLETED', result: { output: 'ACROSS PROCESSES' } });
    for (const p of [api, worker]) p.kill('SIGTERM');
    expect((await api.exited).code).toBe(0);
    expect((await worker.exited).code).toBe(0);
  }, 60_000);
});

/** SIGTERM with work in flight: exit 0, lose nothing. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finished, getJson, startCli, submit } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

describe('graceful shutdown (SIGTERM)', () => {
  const dir = tempDir();

  async function processing(url: string, ids: readonly string[]): Promise<number> {
    const statuses = await Promise.all(ids.map(async (id) => (await getJson(`${url}/api/v1/status/${id}`)).body.status));
    return statuses.filter((s) => s === 'PROCESSING').length;
  }

  it('lets in-flight requests finish within the grace period, exits 0, and the rest complete after restart', async () => {
    const env = { OPENHQM_SQLITE__PATH: join(dir, 'drain.db'), OPENHQM_WORKER__COUNT: '4', OPENHQM_WORKER__SHUTDOWN_GRACE_SECONDS: '20' };
    const server = await startCli(['start'], env).ready();
    const ids: string[] = [];
    for (let i = 0; i < 12; i += 1) ids.push((await submit(server.url, { operation: 'sleep', seconds: 0.5 })).body.correlation_id as string);
    await waitFor(async () => (await processing(server.url, ids)) > 0, { what: 'work in flight' });
    server.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });

    const restarted = await startCli(['start'], env).ready();
    for (const id of ids) expect(await finished(restarted.url, id)).toMatchObject({ status: 'COMPLETED' });
    restarted.kill('SIGTERM');
    expect((await restarted.exited).code).toBe(0);
  }, 60_000);

  it('hands unfinished requests back when the grace period runs out, and they complete after restart', async () => {
    const env = { OPENHQM_SQLITE__PATH: join(dir, 'release.db'), OPENHQM_WORKER__COUNT: '2', OPENHQM_WORKER__SHUTDOWN_GRACE_SECONDS: '0.2' };
    const server = await startCli(['start'], env).ready();
    const ids: string[] = [];
    for (let i = 0; i < 4; i += 1) ids.push((await submit(server.url, { operation: 'sleep', seconds: 3 })).body.correlation_id as string);
    await waitFor(async () => (await processing(server.url, ids)) === 2, { what: 'two requests in flight' });
    server.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });

    const restarted = await startCli(['start'], { ...env, OPENHQM_WORKER__COUNT: '4' }).ready();
    for (const id of ids) expect(await finished(restarted.url, id)).toMatchObject({ status: 'COMPLETED', result: { output: 'slept 3s' } });
    const trail = await getJson(`${restarted.url}/api/v1/requests/${ids[0]!}/events`);
    expect(JSON.stringify(trail.body.events)).toMatch(/released/);
    restarted.kill('SIGTERM');
    expect((await restarted.exited).code).toBe(0);
  }, 60_000);
});

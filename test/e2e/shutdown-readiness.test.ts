/** SIGTERM while work is in flight: the listener stays open for probes and reads while the work drains. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finished, getJson, startCli, submit } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

describe('readiness during shutdown', () => {
  const dir = tempDir();

  it('answers /health/ready 503 and /health/live 200 while draining, refuses new submits with 503 + Retry-After, then finishes the work', async () => {
    const env = { OPENHQM_SQLITE__PATH: join(dir, 'ready.db'), OPENHQM_WORKER__SHUTDOWN_GRACE_SECONDS: '30' };
    const server = await startCli(['start'], env).ready();
    expect((await fetch(`${server.url}/health/ready`)).status).toBe(200);
    const slow = (await submit(server.url, { operation: 'sleep', seconds: 3 })).body.correlation_id as string;
    await waitFor(async () => (await getJson(`${server.url}/api/v1/status/${slow}`)).body.status === 'PROCESSING', { what: 'the slow request to start' });

    server.kill('SIGTERM');
    const ready = await waitFor(
      async () => {
        const res = await fetch(`${server.url}/health/ready`);
        return res.status === 503 ? res : undefined;
      },
      { what: '/health/ready to turn 503' },
    );
    expect(await ready.json()).toMatchObject({ status: 'not_ready', components: { api: 'shutting down' } });
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
    // Reads are still answered: the request is still running.
    expect((await getJson(`${server.url}/api/v1/status/${slow}`)).body.status).toBe('PROCESSING');
    const refused = await fetch(`${server.url}/api/v1/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload: {} }) });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).not.toBeNull();
    expect(await refused.json()).toMatchObject({ code: 'HQM_ERR_SHUTTING_DOWN' });

    expect(await server.exited).toEqual({ code: 0, signal: null });
    // The in-flight request finished during the drain, not after a restart.
    const restarted = await startCli(['start'], env).ready();
    const outcome = await finished(restarted.url, slow);
    expect(outcome).toMatchObject({ status: 'COMPLETED', result: { output: 'slept 3s' } });
    const trail = await getJson(`${restarted.url}/api/v1/requests/${slow}/events`);
    expect(JSON.stringify(trail.body.events)).not.toMatch(/released/);
    restarted.kill('SIGTERM');
    expect((await restarted.exited).code).toBe(0);
  }, 60_000);
});

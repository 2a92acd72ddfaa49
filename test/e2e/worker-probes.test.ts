/** `openhqm worker` with monitoring.metrics_port: its heartbeat and counters can be scraped, its pod probed. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCli } from '../helpers/cli.js';
import { freePort } from '../helpers/servers.js';
import { CAN_SEE_SOCKETS, listeningPorts } from '../helpers/sockets.js';
import { tempDir } from '../helpers/temp.js';

describe('openhqm worker health and metrics', () => {
  const dir = tempDir();

  it('serves /health/live, /health/ready (with the worker pool) and /metrics on monitoring.metrics_port', async () => {
    const port = await freePort();
    const worker = await startCli(['worker'], { OPENHQM_SQLITE__PATH: join(dir, 'w.db'), OPENHQM_MONITORING__METRICS_PORT: String(port) }).ready();
    expect(worker.url).toBe(`http://127.0.0.1:${port}`);
    if (CAN_SEE_SOCKETS) expect(listeningPorts(worker.child.pid ?? 0)).toEqual([port]);

    const live = await fetch(`${worker.url}/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'alive' });
    const ready = await fetch(`${worker.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', components: { queue: 'ready', cache: 'ready', worker: 'ready' } });
    const metrics = await (await fetch(`${worker.url}/metrics`)).text();
    expect(metrics).toMatch(/^openhqm_worker_heartbeat_timestamp_seconds\{worker_id="[^"]+"\} \d+/m);
    // No request API here: submits belong to `openhqm api`.
    expect((await fetch(`${worker.url}/api/v1/submit`, { method: 'POST' })).status).toBe(404);

    worker.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
  });

  it('opens no port without it', async () => {
    const worker = await startCli(['worker'], { OPENHQM_SQLITE__PATH: join(dir, 'w2.db') }).ready();
    expect(() => worker.url).toThrow(/not reported its URL/);
    // Not just unreported: nothing listens (the test above shows this sees a listener).
    if (CAN_SEE_SOCKETS) expect(listeningPorts(worker.child.pid ?? 0)).toEqual([]);
    worker.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  });
});

/** The reverse proxy through the real CLI: sidecar capture, and Queue → HTTP without an API. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { factory as sqliteQueue } from '../../src/adapters/queue/sqlite/index.js';
import { silentLogger } from '../../src/ports/logger.js';
import { getJson, runCli, startCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

describe('reverse proxy (end to end)', () => {
  const dir = tempDir();

  it('sidecar: captures a request, answers 202, and serves the upstream answer by id', async () => {
    const upstream = await startUpstream();
    const server = await startCli(['start'], {
      OPENHQM_SQLITE__PATH: join(dir, 'sidecar.db'),
      OPENHQM_PROXY__ENABLED: 'true',
      OPENHQM_PROXY__DEFAULT_ENDPOINT: upstream.url,
      OPENHQM_PROXY__CAPTURE__ENABLED: 'true',
    }).ready();
    const res = await fetch(`${server.url}/echo/legacy?q=1`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'a,b\n1,2\n' });
    expect(res.status).toBe(202);
    const location = res.headers.get('location') ?? '';
    expect(location).toMatch(/^\/api\/v1\/requests\//);
    await res.body?.cancel();
    const answer = await waitFor(
      async () => {
        const body = await fetch(`${server.url}${location.replace('/requests/', '/response/')}/body?wait=5`);
        if (body.status === 202) return undefined;
        return { status: body.status, json: (await body.json()) as { path: string; query: string; body_base64: string } };
      },
      { what: 'the upstream answer' },
    );
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ path: '/echo/legacy', query: 'q=1' });
    expect(Buffer.from(answer.json.body_base64, 'base64').toString()).toBe('a,b\n1,2\n');

    const waited = await fetch(`${server.url}/echo/sync`, { headers: { prefer: 'wait=10' } });
    expect(waited.status).toBe(200);
    expect(waited.headers.get('x-upstream')).toBe('yes');
    expect(await waited.json()).toMatchObject({ method: 'GET', path: '/echo/sync' });
    server.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  }, 60_000);

  it('Queue → HTTP: a worker alone forwards bare messages an outside producer wrote to the queue', async () => {
    const upstream = await startUpstream();
    const path = join(dir, 'bridge.db');
    const producer = await sqliteQueue.create({ path }, { logger: silentLogger });
    await producer.publish('openhqm-requests', { body: JSON.stringify({ event: 'signup', user: 7 }) });
    await producer.publish('openhqm-requests', { body: JSON.stringify([1, 2, 3]) });
    const worker = await startCli(['worker'], { OPENHQM_SQLITE__PATH: path, OPENHQM_PROXY__ENABLED: 'true', OPENHQM_PROXY__DEFAULT_ENDPOINT: `${upstream.url}/echo/hook` }).ready();
    await waitFor(() => upstream.received.length === 2, { what: 'both messages forwarded' });
    const bodies = upstream.received.map((r) => JSON.parse(r.body.toString()) as unknown);
    expect(bodies).toEqual(expect.arrayContaining([{ event: 'signup', user: 7 }, { value: [1, 2, 3] }]));
    // Each got a record with its own id; the API (any process on the same file) can show it.
    const ids = upstream.received.map((r) => r.headers['x-correlation-id'] as string);
    expect(new Set(ids).size).toBe(2);
    await waitFor(async () => (await producer.stats('openhqm-requests')).depth === 0 && (await producer.stats('openhqm-requests')).inFlight === 0, { what: 'queue drained' });
    const api = await startCli(['api'], { OPENHQM_SQLITE__PATH: path }).ready();
    const result = await getJson(`${api.url}/api/v1/response/${ids[0]!}`);
    expect(result.body).toMatchObject({ status: 'COMPLETED', status_code: 200 });
    await producer.close();
    for (const p of [worker, api]) p.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    expect((await api.exited).code).toBe(0);
  }, 60_000);

  it('refuses a default endpoint that is neither a URL nor a configured name', async () => {
    const { code, stderr } = await runCli(['start'], { OPENHQM_PROXY__ENABLED: 'true', OPENHQM_PROXY__DEFAULT_ENDPOINT: 'legacy-app' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/proxy\.default_endpoint: "legacy-app" is neither an http\(s\) URL nor a name in proxy\.endpoints/);
  });
});

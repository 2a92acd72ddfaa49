/**
 * GET /api/v1/queues with `Accept: text/event-stream`: the queue table live, as the dashboard
 * follows it — through the `eventsource` client with the credential in a header.
 */
import { EventSource, type FetchLike } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import { testApi, type TestApi } from '../helpers/api.js';
import { apiAuth, bearer, KEYS } from '../helpers/auth.js';
import { deferred, waitFor } from '../helpers/wait.js';

interface Table {
  queues: Array<{ name: string; depth: number }>;
  window: { seconds: number; scope: string };
}

const sources: EventSource[] = [];
afterEach(() => {
  for (const source of sources.splice(0)) source.close();
});

/** Follows the stream, collecting `queues` and `unavailable` events; `failed` settles with the HTTP status of a refusal. */
function follow(base: string, headers: Record<string, string> = {}) {
  const tables: Table[] = [];
  const unavailable: Array<{ code: string; detail: string }> = [];
  const failed = deferred<number | undefined>();
  const withHeaders: FetchLike = (url, init) => fetch(url, { ...init, headers: { ...init.headers, ...headers } });
  const source = new EventSource(`${base}/api/v1/queues`, { fetch: withHeaders });
  sources.push(source);
  source.addEventListener('queues', (event) => tables.push(JSON.parse(event.data) as Table));
  source.addEventListener('unavailable', (event) => unavailable.push(JSON.parse(event.data) as { code: string; detail: string }));
  source.addEventListener('error', (event) => {
    if (source.readyState === EventSource.CLOSED) failed.resolve(event.code);
  });
  return { tables, unavailable, failed: failed.promise, source };
}

async function listening(api: TestApi): Promise<string> {
  return api.app.listen({ port: 0, host: '127.0.0.1' });
}

/** openhqm_api_live_streams as /metrics would report it now. */
async function liveStreams(api: TestApi): Promise<number> {
  const metric = await api.metrics.registry.getSingleMetric('openhqm_api_live_streams')?.get();
  return metric?.values[0]?.value ?? 0;
}

describe('the live queue table', () => {
  it('sends the GET /api/v1/queues body at once, then again each interval as the queue changes', async () => {
    const api = await testApi({ streams: { queuesIntervalMs: 50 } });
    const base = await listening(api);
    const stream = follow(base);
    await waitFor(() => stream.tables.length >= 1, { what: 'the first table' });
    const json = (await api.app.inject({ method: 'GET', url: '/api/v1/queues' })).json<Table>();
    expect(stream.tables[0]).toEqual(json);
    expect(stream.tables[0]?.queues[0]).toMatchObject({ name: 'default', depth: 0 });
    await api.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {} } });
    await waitFor(() => stream.tables.at(-1)?.queues[0]?.depth === 1, { what: 'a table with the submitted request' });
    expect(await liveStreams(api)).toBe(1);
  });

  it('says when a read fails, keeps the stream open, and recovers', async () => {
    const api = await testApi({ streams: { queuesIntervalMs: 30 } });
    const stats = api.queue.stats.bind(api.queue);
    let down = false;
    api.queue.stats = async (name) => {
      if (down) throw new Error('connection refused');
      return stats(name);
    };
    const base = await listening(api);
    const stream = follow(base);
    await waitFor(() => stream.tables.length >= 1, { what: 'the first table' });
    down = true;
    await waitFor(() => stream.unavailable.length >= 1, { what: 'an unavailable event' });
    expect(stream.unavailable[0]).toEqual({ code: 'HQM_ERR_BACKEND_UNAVAILABLE', detail: 'the queue is unavailable; nothing was stored, try again' });
    const before = stream.tables.length;
    down = false;
    await waitFor(() => stream.tables.length > before, { what: 'a table after the outage' });
    expect(stream.source.readyState).toBe(EventSource.OPEN);
  });

  it('is for admins: no credential is 401, a submit key 403', async () => {
    const api = await testApi({ auth: apiAuth() });
    const base = await listening(api);
    expect(await follow(base).failed).toBe(401);
    expect(await follow(base, bearer(KEYS.acme)).failed).toBe(403);
    const admin = follow(base, bearer(KEYS.admin));
    await waitFor(() => admin.tables.length >= 1, { what: 'the admin\'s table' });
  });

  it('counts against api.max_streams: past it 503, and the slot is given back when a stream ends', async () => {
    const api = await testApi({ streams: { maxStreams: 1 } });
    const base = await listening(api);
    const first = follow(base);
    await waitFor(() => first.tables.length >= 1, { what: 'the first stream' });
    const refused = await fetch(`${base}/api/v1/queues`, { headers: { accept: 'text/event-stream' } });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ code: 'HQM_ERR_OVERLOADED' });
    first.source.close();
    await waitFor(async () => (await liveStreams(api)) === 0, { what: 'the server to see the stream end' });
    const second = follow(base);
    await waitFor(() => second.tables.length >= 1, { what: 'a stream once the first one ended' });
  });

  it('ends when the API closes', async () => {
    const api = await testApi();
    const base = await listening(api);
    const res = await fetch(`${base}/api/v1/queues`, { headers: { accept: 'text/event-stream' } });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const body = res.body!.getReader();
    const ended = (async () => {
      for (;;) if ((await body.read()).done) return true;
    })();
    await api.app.close();
    expect(await ended).toBe(true);
  });
});

/**
 * GET /api/v1/requests/{id}/events as Server-Sent Events, consumed by the `eventsource` npm
 * client unchanged (it is what a Node or browser client would use).
 */
import { EventSource, type FetchLike } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import { apiAuth, bearer, KEYS } from '../helpers/auth.js';
import { testApi } from '../helpers/api.js';
import { gateway, type Gateway } from '../helpers/gateway.js';
import { deferred, waitFor } from '../helpers/wait.js';

interface Seen {
  readonly type: string;
  readonly id: string;
  readonly data: Record<string, unknown>;
}

const sources: EventSource[] = [];
afterEach(() => {
  for (const source of sources.splice(0)) source.close();
});

/** Opens the stream; collects every event until `result`, then closes (as a client would). */
function follow(base: string, id: string, headers: Record<string, string> = {}): { seen: Seen[]; done: Promise<Seen[]>; source: EventSource } {
  const seen: Seen[] = [];
  const done = deferred<Seen[]>();
  const withHeaders: FetchLike = (url, init) => fetch(url, { ...init, headers: { ...init.headers, ...headers } });
  const source = new EventSource(`${base}/api/v1/requests/${id}/events`, { fetch: withHeaders });
  sources.push(source);
  for (const type of ['status', 'progress', 'result']) {
    source.addEventListener(type, (event) => {
      seen.push({ type, id: event.lastEventId, data: JSON.parse(event.data) as Record<string, unknown> });
      if (type === 'result') {
        source.close();
        done.resolve(seen);
      }
    });
  }
  source.addEventListener('error', (event) => {
    if (source.readyState === EventSource.CLOSED) done.reject(new Error(`stream failed: ${event.message ?? 'closed'}`));
  });
  return { seen, done: done.promise, source };
}

async function listening(g: Gateway): Promise<string> {
  return g.app.listen({ port: 0, host: '127.0.0.1' });
}

describe('Server-Sent Events on /api/v1/requests/{id}/events', () => {
  it('streams the whole trail, then each event live, then the result, and ends', async () => {
    const release = deferred();
    const started = deferred();
    const g = await gateway({
      processor: async () => {
        started.resolve();
        await release.promise;
        return { output: 'done' };
      },
    });
    const base = await listening(g);
    const id = await g.submit({});
    await started.promise;
    const stream = follow(base, id);
    // The past first: the creation and the claim, before the request finishes.
    await waitFor(() => stream.seen.length >= 2, { what: 'the past events' });
    expect(stream.seen.map((e) => [e.type, e.id, e.data.to])).toEqual([
      ['status', '1', 'PENDING'],
      ['status', '2', 'PROCESSING'],
    ]);
    release.resolve();
    const all = await stream.done;
    expect(all.map((e) => [e.type, e.id])).toEqual([
      ['status', '1'],
      ['status', '2'],
      ['status', '3'],
      ['result', 'result'],
    ]);
    expect(all[2]?.data).toMatchObject({ correlation_id: id, seq: 3, from: 'PROCESSING', to: 'COMPLETED', attempt: 1 });
    // The result event carries the GET /api/v1/response/{id} body.
    const response = await g.app.inject({ method: 'GET', url: `/api/v1/response/${id}` });
    expect(all[3]?.data).toEqual(response.json());
    expect(g.app.server.listening).toBe(true);
  });

  it('streams trail entries that carry a note (no status change) as `note` events', async () => {
    const g = await gateway();
    const id = await g.submit({ operation: 'echo' });
    await g.finished(id);
    // A note entry as the webhook deliveries add them: in the trail, moving no status.
    const events = g.store.events.bind(g.store);
    g.store.events = async (which) => [...(await events(which)), { at: Date.now(), from: 'COMPLETED', to: 'COMPLETED', attempt: 1, workerId: null, error: null, note: { kind: 'webhook', detail: { state: 'delivered' } } }];
    const base = await listening(g);
    const seen: Array<[string, string]> = [];
    const source = new EventSource(`${base}/api/v1/requests/${id}/events`);
    sources.push(source);
    const done = deferred();
    for (const type of ['status', 'note', 'result']) {
      source.addEventListener(type, (event) => {
        seen.push([type, event.lastEventId]);
        if (type === 'note') expect(JSON.parse(event.data)).toMatchObject({ correlation_id: id, seq: 4, note: { kind: 'webhook', detail: { state: 'delivered' } } });
        if (type === 'result') done.resolve();
      });
    }
    await done.promise;
    expect(seen).toEqual([
      ['status', '1'],
      ['status', '2'],
      ['status', '3'],
      ['note', '4'],
      ['result', 'result'],
    ]);
  });

  it('ends a request nobody consumes in TIMEOUT at its deadline, with the result event', async () => {
    const api = await testApi();
    const submitted = await api.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {}, metadata: { timeout: 0.3 } } });
    const id = submitted.json<{ correlation_id: string }>().correlation_id;
    const base = await api.app.listen({ port: 0, host: '127.0.0.1' });
    const all = await follow(base, id).done;
    expect(all.map((e) => [e.type, e.data.to ?? e.data.status])).toEqual([
      ['status', 'PENDING'],
      ['status', 'TIMEOUT'],
      ['result', 'TIMEOUT'],
    ]);
    expect(all[2]?.data).toMatchObject({ error_code: 'HQM_ERR_DEADLINE_EXCEEDED' });
  });

  it('answers the JSON trail to any other Accept', async () => {
    const g = await gateway();
    const id = await g.submit({ operation: 'echo' });
    await g.finished(id);
    const res = await g.app.inject({ method: 'GET', url: `/api/v1/requests/${id}/events`, headers: { accept: 'application/json' } });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json().events).toHaveLength(3);
  });

  it('resumes after Last-Event-ID without repeating, and says 204 once the result was seen', async () => {
    const g = await gateway();
    const base = await listening(g);
    const id = await g.submit({ operation: 'echo', data: 'x' });
    await g.finished(id);
    const resumed = await follow(base, id, { 'last-event-id': '2' }).done;
    expect(resumed.map((e) => [e.type, e.id])).toEqual([
      ['status', '3'],
      ['result', 'result'],
    ]);
    const after = await fetch(`${base}/api/v1/requests/${id}/events`, { headers: { accept: 'text/event-stream', 'last-event-id': 'result' } });
    expect(after.status).toBe(204);
    const bad = await fetch(`${base}/api/v1/requests/${id}/events`, { headers: { accept: 'text/event-stream', 'last-event-id': 'yesterday' } });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({ code: 'HQM_ERR_VALIDATION' });
  });

  it('streams progress as the processor reports it', async () => {
    const release = deferred();
    const watching = deferred();
    const g = await gateway({
      processor: async (_request, ctx) => {
        // Reported only once the stream is following: it can only learn of it from the change feed.
        await watching.promise;
        await ctx.progress(40);
        await release.promise;
        return {};
      },
    });
    const base = await listening(g);
    const id = await g.submit({});
    const stream = follow(base, id);
    await waitFor(() => stream.seen.some((e) => e.data.to === 'PROCESSING'), { what: 'the claim' });
    watching.resolve();
    await waitFor(() => stream.seen.some((e) => e.type === 'progress'), { what: 'a progress event' });
    release.resolve();
    const all = await stream.done;
    expect(all.map((e) => e.type)).toEqual(['status', 'status', 'progress', 'status', 'result']);
    expect(all[2]?.data).toEqual({ correlation_id: id, progress: 40 });
  });

  it('sends a heartbeat comment while nothing happens, and frees its slot when the client goes', async () => {
    const release = deferred();
    const g = await gateway({ api: { streams: { heartbeatMs: 20, maxStreams: 1 } }, processor: () => release.promise.then(() => ({})) });
    const base = await listening(g);
    const id = await g.submit({});
    const abort = new AbortController();
    const res = await fetch(`${base}/api/v1/requests/${id}/events`, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes(': heartbeat\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    // The only slot is free again once the first client has gone.
    const next = await waitFor(
      async () => {
        const again = await fetch(`${base}/api/v1/requests/${id}/events`, { headers: { accept: 'text/event-stream' } });
        if (again.status === 200) return again;
        await again.body?.cancel();
        return undefined;
      },
      { what: 'the slot to be given back' },
    );
    await next.body?.cancel();
    release.resolve();
  });

  it('is a 404 for an unknown id and for another tenant’s request, before anything is streamed', async () => {
    const g = await gateway({ api: { auth: apiAuth() } });
    const submitted = await g.app.inject({ method: 'POST', url: '/api/v1/submit', headers: bearer(KEYS.acme), payload: { payload: { operation: 'echo' } } });
    const id = submitted.json<{ correlation_id: string }>().correlation_id;
    for (const [who, target] of [
      [KEYS.globex, id],
      [KEYS.acme, '00000000-0000-4000-8000-000000000000'],
    ] as const) {
      const res = await g.app.inject({ method: 'GET', url: `/api/v1/requests/${target}/events`, headers: { ...bearer(who), accept: 'text/event-stream' } });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ detail: 'Request not found or expired', code: 'HQM_ERR_NOT_FOUND' });
    }
  });

  it('refuses a stream past api.max_streams with 503, and ends open streams on shutdown', async () => {
    const release = deferred();
    const g = await gateway({ api: { streams: { maxStreams: 1 } }, processor: () => release.promise.then(() => ({})) });
    const base = await listening(g);
    const id = await g.submit({});
    const open = await fetch(`${base}/api/v1/requests/${id}/events`, { headers: { accept: 'text/event-stream' } });
    expect(open.status).toBe(200);
    const refused = await fetch(`${base}/api/v1/requests/${id}/events`, { headers: { accept: 'text/event-stream' } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).not.toBeNull();
    expect(await refused.json()).toMatchObject({ code: 'HQM_ERR_OVERLOADED' });
    // close() would wait for the open stream forever if shutdown did not end it.
    await g.app.close();
    const rest = await open.text();
    expect(rest).toContain('event: status');
    release.resolve();
  });
});

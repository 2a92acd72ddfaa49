/** GET /api/v1/ws with the `ws` client: subscriptions, submits, errors and bounds. */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { configSchema } from '../../src/config/schema.js';
import { rateWindowOf } from '../../src/core/request/tenant-rate.js';
import { apiAuth, bearer, KEYS, TEST_KEYS } from '../helpers/auth.js';
import { QUEUE, testApi } from '../helpers/api.js';
import { gateway, type Gateway } from '../helpers/gateway.js';
import { deferred, waitFor } from '../helpers/wait.js';

type Message = Record<string, unknown> & { type: string };

interface Client {
  readonly socket: WebSocket;
  readonly received: Message[];
  send(message: unknown): void;
  /** Resolves with the first received message (from now on or already seen) that `match` accepts. */
  next(match: (m: Message) => boolean, what?: string): Promise<Message>;
}

const sockets: WebSocket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) if (socket.readyState !== WebSocket.CONNECTING) socket.terminate();
});

async function connect(g: Gateway, headers: Record<string, string> = {}): Promise<Client> {
  const base = g.app.server.listening ? `http://127.0.0.1:${(g.app.server.address() as { port: number }).port}` : await g.app.listen({ port: 0, host: '127.0.0.1' });
  const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/api/v1/ws`, { headers });
  sockets.push(socket);
  const received: Message[] = [];
  socket.on('message', (data) => received.push(JSON.parse((data as Buffer).toString('utf8')) as Message));
  await once(socket, 'open');
  return {
    socket,
    received,
    send: (message) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
    next: (match, what) => waitFor(() => received.find(match), { what: what ?? 'a message' }),
  };
}

describe('WebSocket on /api/v1/ws', () => {
  it('streams each subscribed request’s events and result, as SSE does', async () => {
    const release = deferred();
    const g = await gateway({ processor: () => release.promise.then(() => ({ output: 'ok' })) });
    const id = await g.submit({});
    const client = await connect(g);
    client.send({ type: 'subscribe', ids: [id] });
    await client.next((m) => m.type === 'status' && m.to === 'PROCESSING', 'the claim');
    release.resolve();
    const result = await client.next((m) => m.type === 'result');
    const response = await g.app.inject({ method: 'GET', url: `/api/v1/response/${id}` });
    expect(result).toEqual({ type: 'result', ...response.json() });
    expect(client.received.filter((m) => m.type === 'status').map((m) => [m.correlation_id, m.seq, m.to])).toEqual([
      [id, 1, 'PENDING'],
      [id, 2, 'PROCESSING'],
      [id, 3, 'COMPLETED'],
    ]);
  });

  it('100 subscriptions on one socket all get their result', async () => {
    const g = await gateway({ worker: { concurrency: 16 } });
    const client = await connect(g);
    const ids: string[] = [];
    for (let i = 0; i < 100; i += 1) {
      client.send({ type: 'submit', request: { payload: { operation: 'echo', data: i } }, ref: i });
    }
    await waitFor(() => client.received.filter((m) => m.type === 'accepted').length === 100, { what: '100 accepted' });
    for (const m of client.received) if (m.type === 'accepted') ids.push(m.correlation_id as string);
    client.send({ type: 'subscribe', ids });
    await waitFor(() => client.received.filter((m) => m.type === 'result').length === 100, { what: '100 results' });
    const results = client.received.filter((m) => m.type === 'result');
    expect(new Set(results.map((m) => m.correlation_id))).toEqual(new Set(ids));
    expect(results.every((m) => m.status === 'COMPLETED')).toBe(true);
    // Every submit is answered with its own ref.
    expect(new Set(client.received.filter((m) => m.type === 'accepted').map((m) => m.ref))).toEqual(new Set(ids.map((_, i) => i)));
  });

  it('answers a bad message with a typed error and lives on', async () => {
    const g = await gateway();
    const client = await connect(g);
    client.send('{not json');
    client.send({ type: 'subscribe', ids: 'x', ref: 'r1' });
    client.send({ type: 'launch', ref: 'r2' });
    client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    client.send({ type: 'submit', request: { payload: 'not an object' }, ref: 'r3' });
    await waitFor(() => client.received.length === 5, { what: 'five answers' });
    expect(client.received.map((m) => [m.type, m.code, m.ref])).toEqual([
      ['error', 'HQM_ERR_MALFORMED_BODY', undefined],
      ['error', 'HQM_ERR_VALIDATION', 'r1'],
      ['error', 'HQM_ERR_VALIDATION', 'r2'],
      ['error', 'HQM_ERR_MALFORMED_BODY', undefined],
      ['error', 'HQM_ERR_VALIDATION', 'r3'],
    ]);
    expect(client.received[4]).toMatchObject({ status: 422, issues: [expect.objectContaining({ loc: ['body', 'payload'] })] });
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    // And still works.
    const id = await g.submit({ operation: 'echo' });
    client.send({ type: 'subscribe', ids: [id] });
    await client.next((m) => m.type === 'result' && m.correlation_id === id);
  });

  it('answers an unknown id and another tenant’s id alike, and needs the submit role to submit', async () => {
    const g = await gateway({ api: { auth: apiAuth() } });
    const theirs = await g.app.inject({ method: 'POST', url: '/api/v1/submit', headers: bearer(KEYS.globex), payload: { payload: { operation: 'echo' } } });
    const theirId = theirs.json<{ correlation_id: string }>().correlation_id;
    const unknown = '00000000-0000-4000-8000-000000000000';
    const reader = await connect(g, bearer(KEYS.acmeReader));
    reader.send({ type: 'subscribe', ids: [theirId, unknown] });
    await waitFor(() => reader.received.length === 2, { what: 'two answers' });
    expect(reader.received).toEqual(
      expect.arrayContaining([
        { type: 'error', code: 'HQM_ERR_NOT_FOUND', detail: 'Request not found or expired', correlation_id: theirId },
        { type: 'error', code: 'HQM_ERR_NOT_FOUND', detail: 'Request not found or expired', correlation_id: unknown },
      ]),
    );
    reader.send({ type: 'submit', request: { payload: { operation: 'echo' } }, ref: 1 });
    expect(await reader.next((m) => m.ref === 1)).toMatchObject({ type: 'error', code: 'HQM_ERR_FORBIDDEN', status: 403 });
    // The submitter's own request: accepted under its tenant, and followed.
    const submitter = await connect(g, bearer(KEYS.acme));
    submitter.send({ type: 'submit', request: { payload: { operation: 'echo' } }, ref: 2 });
    const accepted = await submitter.next((m) => m.ref === 2);
    expect(accepted).toMatchObject({ type: 'accepted', status: 'PENDING' });
    reader.send({ type: 'subscribe', ids: [accepted.correlation_id] });
    await reader.next((m) => m.type === 'result' && m.correlation_id === accepted.correlation_id);
  });

  it('refuses an upgrade without a credential, and a plain GET with 426', async () => {
    const g = await gateway({ api: { auth: apiAuth() } });
    const base = await g.app.listen({ port: 0, host: '127.0.0.1' });
    const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/api/v1/ws`);
    sockets.push(socket);
    const [request, response] = (await once(socket, 'unexpected-response')) as [{ socket: WebSocket & NodeJS.EventEmitter }, { statusCode: number }];
    expect(response.statusCode).toBe(401);
    // The server hangs up: a refused upgrade holds no socket (nor holds up shutdown).
    await once(request.socket, 'close');
    const plain = await g.app.inject({ method: 'GET', url: '/api/v1/ws', headers: bearer(KEYS.acmeReader) });
    expect(plain.statusCode).toBe(426);
    expect(plain.json()).toMatchObject({ code: 'HQM_ERR_UPGRADE_REQUIRED' });
  });

  it('replays a submit with the same Idempotency-Key instead of queueing it twice', async () => {
    const g = await gateway();
    const client = await connect(g);
    const request = { payload: { operation: 'echo', data: 'once' } };
    client.send({ type: 'submit', request, idempotency_key: 'k-1', ref: 'a' });
    const first = await client.next((m) => m.ref === 'a');
    client.send({ type: 'submit', request, idempotency_key: 'k-1', ref: 'b' });
    const second = await client.next((m) => m.ref === 'b');
    expect(second).toMatchObject({ type: 'accepted', correlation_id: first.correlation_id, replayed: true });
  });

  it('counts submits over the socket against the tenant’s rate, like POST /submit', async () => {
    const section = { enabled: true, api_keys: TEST_KEYS, tenants: { acme: { rate_per_second: 0.001, burst: 2 } } };
    const config = configSchema.parse({ auth: section });
    const g = await gateway({ api: { auth: apiAuth(section), tenantRate: { windowOf: (tenant) => rateWindowOf(config.auth.tenants, config.auth.default_tenant, tenant) } } });
    // One from HTTP and one over the socket share the burst of 2; the next is refused.
    expect((await g.app.inject({ method: 'POST', url: '/api/v1/submit', headers: bearer(KEYS.acme), payload: { payload: {} } })).statusCode).toBe(202);
    const client = await connect(g, bearer(KEYS.acme));
    client.send({ type: 'submit', request: { payload: {} }, ref: 1 });
    expect(await client.next((m) => m.ref === 1)).toMatchObject({ type: 'accepted' });
    client.send({ type: 'submit', request: { payload: {} }, ref: 2 });
    const refused = await client.next((m) => m.ref === 2);
    expect(refused).toMatchObject({ type: 'error', code: 'HQM_ERR_RATE_LIMITED', status: 429 });
    expect(refused.retry_after).toBeGreaterThan(0);
  });

  it('resumes a subscription after the entries already seen', async () => {
    const g = await gateway();
    const id = await g.submit({ operation: 'echo' });
    await g.finished(id);
    const client = await connect(g);
    client.send({ type: 'subscribe', ids: [id.toUpperCase()], after: { [id.toUpperCase()]: 2 } });
    await client.next((m) => m.type === 'result');
    expect(client.received.map((m) => [m.type, m.seq])).toEqual([
      ['status', 3],
      ['result', undefined],
    ]);
  });

  it('caps subscriptions per connection', async () => {
    const release = deferred();
    const g = await gateway({ api: { streams: { wsMaxSubscriptions: 2 } }, processor: () => release.promise.then(() => ({})) });
    const ids = [await g.submit({}), await g.submit({}), await g.submit({})];
    const client = await connect(g);
    client.send({ type: 'subscribe', ids, ref: 's' });
    const refused = await client.next((m) => m.type === 'error');
    expect(refused).toMatchObject({ code: 'HQM_ERR_VALIDATION', correlation_id: ids[2], ref: 's' });
    client.send({ type: 'unsubscribe', ids: [ids[0]] });
    client.send({ type: 'subscribe', ids: [ids[2]] });
    await client.next((m) => m.type === 'status' && m.correlation_id === ids[2]);
    release.resolve();
  });

  it('closes with 1009 on a message larger than a submit body may be', async () => {
    const g = await gateway({ api: { maxBodyBytes: 1024 } });
    const client = await connect(g);
    const closed = once(client.socket, 'close');
    client.send({ type: 'submit', request: { payload: { data: 'x'.repeat(80 * 1024) } } });
    const [code] = (await closed) as [number];
    expect(code).toBe(1009);
  });

  it('in sidecar mode, serves /ws under the control prefix and queues no upgrade to a captured path', async () => {
    const api = await testApi({ capture: { enabled: true, controlPrefix: '/_hqm', retryAfterSeconds: 1 } });
    const base = (await api.app.listen({ port: 0, host: '127.0.0.1' })).replace(/^http/, 'ws');
    const control = new WebSocket(`${base}/_hqm/api/v1/ws`);
    sockets.push(control);
    await once(control, 'open');
    const captured = new WebSocket(`${base}/chat`);
    sockets.push(captured);
    await once(captured, 'close');
    expect((await api.queue.stats(QUEUE)).depth).toBe(0);
  });

  it('counts open connections in openhqm_api_live_streams', async () => {
    const api = await testApi();
    const base = await api.app.listen({ port: 0, host: '127.0.0.1' });
    const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/api/v1/ws`);
    sockets.push(socket);
    await once(socket, 'open');
    const gauge = async () => /^openhqm_api_live_streams (\d+)$/m.exec(await api.metrics.registry.metrics())?.[1];
    expect(await gauge()).toBe('1');
    socket.close();
    await waitFor(async () => (await gauge()) === '0', { what: 'the gauge to drop' });
  });

  it('closes every socket with 1001 on shutdown', async () => {
    const g = await gateway();
    const client = await connect(g);
    const closed = once(client.socket, 'close');
    await g.app.close();
    const [code] = (await closed) as [number];
    expect(code).toBe(1001);
  });

  it('cuts off a client that never reads with 1008, and the server’s memory stays flat', async () => {
    // One shared 512 KiB string: the store holds it once, but each result message is a fresh copy.
    const big = 'x'.repeat(512 * 1024);
    const g = await gateway({ api: { streams: { maxStreams: 1 } }, worker: { concurrency: 16 }, processor: async () => ({ big }) });
    const ids = await Promise.all(Array.from({ length: 400 }, () => g.submit({})));
    await Promise.all(ids.map((id) => g.finished(id)));
    const client = await connect(g);
    const rssBefore = process.memoryUsage().rss;
    const closed = once(client.socket, 'close');
    client.socket.pause();
    // 400 results of 512 KiB: 200 MiB the server would hold if it buffered for a client that never reads.
    client.send({ type: 'subscribe', ids });
    // The slow client's slot (the only one) is free once the server has cut it off.
    await waitFor(async () => accepts(g), { what: 'the slow client to be cut off', timeoutMs: 20_000 });
    const grown = process.memoryUsage().rss - rssBefore;
    expect(grown).toBeLessThan(64 * 1024 * 1024);
    client.socket.resume();
    const [code, reason] = (await closed) as [number, Buffer];
    expect(code).toBe(1008);
    expect(String(reason)).toMatch(/slow consumer/);
    expect(client.received.filter((m) => m.type === 'result').length).toBeLessThan(100);
  }, 60_000);
});

/** Whether a new connection is taken now (rather than refused, as past api.max_streams). */
async function accepts(g: Gateway): Promise<boolean> {
  const port = (g.app.server.address() as { port: number }).port;
  const socket = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws`);
  const outcome = await Promise.race([once(socket, 'open').then(() => true), once(socket, 'unexpected-response').then(() => false), once(socket, 'error').then(() => false)]);
  socket.terminate();
  return outcome;
}

describe('the OpenAPI document', () => {
  it('documents the WebSocket endpoint (101) and the event stream of the trail', async () => {
    const g = await gateway();
    const doc = (await g.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, { get: { responses: Record<string, { content?: object }> } }> }>();
    expect(Object.keys(doc.paths['/api/v1/ws']?.get.responses ?? {})).toEqual(expect.arrayContaining(['101', '426']));
    expect(Object.keys(doc.paths['/api/v1/requests/{correlation_id}/events']?.get.responses['200']?.content ?? {})).toEqual(['application/json', 'text/event-stream']);
  });
});

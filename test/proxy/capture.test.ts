/** Sidecar mode: any request outside the control paths is captured, queued and replayed. */
import { describe, expect, it } from 'vitest';
import { proxyGateway } from '../helpers/proxy-gateway.js';
import { BINARY, startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

describe('proxy: transparent capture', () => {
  it('answers 202 with Location and Retry-After, then replays the request as it came', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: upstream.url, capture: { enabled: true, retry_after_seconds: 3 } } });
    const res = await g.app.inject({
      method: 'PATCH',
      url: '/echo/orders/17?expand=items&x=%20y',
      headers: { 'content-type': 'application/octet-stream', 'x-tenant': 'acme', authorization: 'Bearer client-token', connection: 'keep-alive' },
      payload: BINARY,
    });
    expect(res.statusCode).toBe(202);
    const { correlation_id: id, location } = res.json<{ correlation_id: string; location: string }>();
    expect(res.headers.location).toBe(`/api/v1/requests/${id}`);
    expect(location).toBe(`/api/v1/requests/${id}`);
    expect(res.headers['retry-after']).toBe('3');
    await g.finished(id);
    const [seen] = upstream.received;
    expect(seen).toMatchObject({ method: 'PATCH', path: '/echo/orders/17', query: 'expand=items&x=%20y' });
    expect(seen?.body.equals(BINARY)).toBe(true);
    expect(seen?.headers).toMatchObject({ 'content-type': 'application/octet-stream', 'x-tenant': 'acme', authorization: 'Bearer client-token', 'x-correlation-id': id });
  });

  it('with Prefer: wait=N answers with the upstream’s own response when it finishes in time', async () => {
    const upstream = await startUpstream();
    upstream.program = () => ({ status: 201, headers: { 'content-type': 'application/octet-stream', 'x-app': 'legacy', 'set-cookie': ['a=1', 'b=2'] }, body: BINARY });
    const g = await proxyGateway({ proxy: { default_endpoint: upstream.url, capture: { enabled: true } } });
    const res = await g.app.inject({ method: 'POST', url: '/programmed', headers: { prefer: 'respond-async, wait=10' }, payload: 'hi' });
    expect(res.statusCode).toBe(201);
    expect(res.headers['x-app']).toBe('legacy');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(res.headers['preference-applied']).toBe('wait=10');
    expect(res.rawPayload.equals(BINARY)).toBe(true);
    const id = res.headers['x-correlation-id'] as string;
    const body = await g.app.inject({ method: 'GET', url: `/api/v1/response/${id}/body` });
    expect(body.statusCode).toBe(201);
    expect(body.rawPayload.equals(BINARY)).toBe(true);
    expect(body.headers['content-type']).toBe('application/octet-stream');
  });

  it('relays an answer without a body or a Content-Type as it came, adding none', async () => {
    const upstream = await startUpstream();
    upstream.program = () => ({ status: 302, headers: { location: '/elsewhere' }, body: Buffer.alloc(0) });
    const g = await proxyGateway({ proxy: { default_endpoint: upstream.url, capture: { enabled: true } } });
    const res = await g.app.inject({ method: 'GET', url: '/programmed', headers: { prefer: 'wait=10' } });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/elsewhere');
    expect(res.headers['content-type']).toBeUndefined();
    expect(res.rawPayload).toHaveLength(0);
  });

  it('without Prefer, or when it does not finish in time, answers 202', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: upstream.url, capture: { enabled: true } } });
    const res = await g.app.inject({ method: 'GET', url: '/slow?ms=3000', headers: { prefer: 'wait=0.2' } });
    expect(res.statusCode).toBe(202);
    const pending = await g.app.inject({ method: 'GET', url: `/api/v1/response/${res.headers['x-correlation-id'] as string}/body` });
    expect(pending.statusCode).toBe(202);
    // Without Prefer the answer does not wait for the upstream at all, however fast it is.
    const unwaited = await g.app.inject({ method: 'GET', url: '/echo/quick' });
    expect(unwaited.statusCode).toBe(202);
    expect(unwaited.headers.location).toMatch(/^\/api\/v1\/requests\//);
  });

  it('leaves the control paths alone: they are answered, never captured', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: upstream.url, capture: { enabled: true } } });
    expect((await g.app.inject({ method: 'GET', url: '/health' })).json()).toMatchObject({ status: 'healthy' });
    expect((await g.app.inject({ method: 'GET', url: '/api/v1/unknown' })).statusCode).toBe(404);
    expect((await g.app.inject({ method: 'GET', url: '/metrics/extra' })).statusCode).toBe(404);
    const submit = await g.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: { via: 'api' } } });
    expect(submit.statusCode).toBe(202);
  });

  it('moves the control paths under control_prefix, so the application’s own /api/v1 is captured', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: `${upstream.url}/echo`, capture: { enabled: true, control_prefix: '/_hqm' } } });
    expect((await g.app.inject({ method: 'GET', url: '/_hqm/health' })).statusCode).toBe(200);
    const captured = await g.app.inject({ method: 'GET', url: '/api/v1/users', headers: { prefer: 'wait=10' } });
    expect(captured.statusCode).toBe(200);
    expect(captured.json()).toMatchObject({ method: 'GET', path: '/echo/api/v1/users' });
    const res = await g.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(202);
    expect(res.headers.location).toMatch(/^\/_hqm\/api\/v1\/requests\//);
  });

  it('a captured request that fails without an answer is told as 502 by /body', async () => {
    const g = await proxyGateway({ proxy: { default_endpoint: 'http://127.0.0.1:9/', capture: { enabled: true } }, worker: { max_retries: 0 } });
    const res = await g.app.inject({ method: 'GET', url: '/x', headers: { prefer: 'wait=10' } });
    expect(res.statusCode).toBe(502);
    expect(res.json()).toMatchObject({ code: 'HQM_ERR_UPSTREAM_UNREACHABLE', status: 'FAILED' });
  });
});

describe('load shedding', () => {
  it('answers 503 with Retry-After above api.max_queue_depth, instead of growing the queue', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: `${upstream.url}/slow?ms=10000` }, worker: { count: 1 }, api: { max_queue_depth: 5 } });
    // Keeps submitting until the gate closes (the depth is re-read every 250 ms).
    const refused = await waitFor(
      async () => {
        const res = await g.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {} } });
        return res.statusCode === 503 ? res : undefined;
      },
      { intervalMs: 20, what: 'a 503' },
    );
    expect(refused.headers['retry-after']).toBeDefined();
    expect(refused.json().code).toBe('HQM_ERR_OVERLOADED');
    expect((await g.queue.stats('openhqm-requests')).depth).toBeLessThan(30);
    // Once closed, the gate keeps refusing while the backlog stands, and the queue stays as it was.
    const depth = (await g.queue.stats('openhqm-requests')).depth;
    for (let i = 0; i < 5; i += 1) expect((await g.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {} } })).statusCode).toBe(503);
    expect((await g.queue.stats('openhqm-requests')).depth).toBe(depth);
  });
});

/** Authentication in proxy and sidecar mode: what is open, and which headers reach the application. */
import { describe, expect, it } from 'vitest';
import { bearer, KEYS, TEST_KEYS } from '../helpers/auth.js';
import { proxyGateway } from '../helpers/proxy-gateway.js';
import { startUpstream } from '../helpers/upstream.js';

const auth = { api_keys: TEST_KEYS };

describe('sidecar with auth.enabled', () => {
  it('leaves captured traffic open by default — the application\'s own Authorization travels on — while the control paths need a key', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: upstream.url, capture: { enabled: true } }, auth });
    const res = await g.app.inject({ method: 'POST', url: '/echo/orders', headers: { authorization: 'Bearer the-apps-own-session', 'x-openhqm-tenant': 'globex' }, payload: 'hi' });
    expect(res.statusCode).toBe(202);
    const id = res.json<{ correlation_id: string }>().correlation_id;
    await g.finished(id);
    const [seen] = upstream.received;
    expect(seen?.headers.authorization).toBe('Bearer the-apps-own-session');
    // Nobody authenticated it: no tenant, and a tenant the client claims does not reach the application.
    expect(seen?.headers['x-openhqm-tenant']).toBeUndefined();
    expect((await g.store.get(id))?.tenant).toBeNull();
    for (const url of [`/api/v1/response/${id}`, '/openapi.json', '/health']) {
      expect((await g.app.inject({ method: 'GET', url })).statusCode, url).toBe(401);
    }
    expect((await g.app.inject({ method: 'GET', url: `/api/v1/response/${id}`, headers: bearer(KEYS.admin) })).statusCode).toBe(200);
  });

  it('with proxy.capture.require_auth: refuses captured traffic without a key, storing nothing; the key never reaches the application', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: upstream.url, capture: { enabled: true, require_auth: true } }, auth });
    const refused = await g.app.inject({ method: 'POST', url: '/echo/orders', payload: 'hi' });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="openhqm"');
    expect((await g.queue.stats('openhqm-requests')).depth).toBe(0);

    const res = await g.app.inject({ method: 'POST', url: '/echo/orders', headers: { ...bearer(KEYS.acme), 'x-openhqm-tenant': 'globex' }, payload: 'hi' });
    expect(res.statusCode).toBe(202);
    const id = res.json<{ correlation_id: string }>().correlation_id;
    const record = await g.finished(id);
    expect(record.tenant).toBe('acme');
    const [seen] = upstream.received;
    expect(seen?.headers.authorization).toBeUndefined();
    expect(seen?.headers['x-openhqm-tenant']).toBe('acme');
    expect(JSON.stringify(record)).not.toContain(KEYS.acme);
    // The Location it was given is readable by its tenant only.
    const location = res.headers.location as string;
    expect((await g.app.inject({ method: 'GET', url: location, headers: bearer(KEYS.acme) })).statusCode).toBe(200);
    expect((await g.app.inject({ method: 'GET', url: location, headers: bearer(KEYS.globex) })).statusCode).toBe(404);
  });

  it('counts authenticated captured requests against the tenant\'s submit rate, on the same count as the control paths\' submits', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({
      proxy: { default_endpoint: upstream.url, capture: { enabled: true, require_auth: true } },
      auth: { ...auth, tenants: { acme: { rate_per_second: 0.001, burst: 2 } } },
    });
    const captured = await g.app.inject({ method: 'POST', url: '/echo/a', headers: bearer(KEYS.acme), payload: 'hi' });
    expect(captured.statusCode).toBe(202);
    const control = await g.app.inject({ method: 'POST', url: '/hqm/api/v1/submit', headers: bearer(KEYS.acme), payload: { payload: { n: 1 } } });
    expect(control.statusCode).toBe(202);
    const over = await g.app.inject({ method: 'POST', url: '/echo/b', headers: bearer(KEYS.acme), payload: 'hi' });
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ code: 'HQM_ERR_RATE_LIMITED' });
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    // Refused before anything was stored: once the two accepted ones are done, /echo/b never reached the application.
    for (const res of [captured, control]) await g.finished(res.json<{ correlation_id: string }>().correlation_id);
    expect(upstream.received.map((r) => r.path)).not.toContain('/echo/b');
    expect((await g.app.inject({ method: 'POST', url: '/echo/c', headers: bearer(KEYS.globex), payload: 'hi' })).statusCode).toBe(202);
  });

  it('drops only the header that carried the key: with X-API-Key, the application\'s Authorization is kept', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: upstream.url, capture: { enabled: true, require_auth: true } }, auth });
    const res = await g.app.inject({ method: 'GET', url: '/echo/x', headers: { 'x-api-key': KEYS.acme, authorization: 'Bearer the-apps-own-session' } });
    await g.finished(res.json<{ correlation_id: string }>().correlation_id);
    const [seen] = upstream.received;
    expect(seen?.headers['x-api-key']).toBeUndefined();
    expect(seen?.headers.authorization).toBe('Bearer the-apps-own-session');
  });

  it('forwards the key only when proxy.forward_headers names its header ("*" is not enough)', async () => {
    const upstream = await startUpstream();
    const named = await proxyGateway({ proxy: { default_endpoint: upstream.url, forward_headers: ['Authorization'], capture: { enabled: true, require_auth: true } }, auth });
    const res = await named.app.inject({ method: 'GET', url: '/echo/x', headers: bearer(KEYS.acme) });
    await named.finished(res.json<{ correlation_id: string }>().correlation_id);
    expect(upstream.received[0]?.headers.authorization).toBe(`Bearer ${KEYS.acme}`);

    const star = await proxyGateway({ proxy: { default_endpoint: upstream.url, forward_headers: ['*'], capture: { enabled: true, require_auth: true } }, auth });
    const again = await star.app.inject({ method: 'GET', url: '/echo/y', headers: bearer(KEYS.acme) });
    await star.finished(again.json<{ correlation_id: string }>().correlation_id);
    expect(upstream.received[1]?.headers.authorization).toBeUndefined();
  });
});

describe('proxy mode with auth.enabled', () => {
  it('tells the upstream the tenant in auth.tenant_header, whatever header of that name the client sent', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: `${upstream.url}/echo`, forward_headers: ['*'] }, auth: { ...auth, tenant_header: 'X-Tenant-Id' } });
    const res = await g.app.inject({ method: 'POST', url: '/api/v1/submit', headers: bearer(KEYS.acme), payload: { payload: { a: 1 }, headers: { 'X-Tenant-Id': 'globex' } } });
    expect(res.statusCode).toBe(202);
    await g.finished(res.json<{ correlation_id: string }>().correlation_id);
    expect(upstream.received[0]?.headers['x-tenant-id']).toBe('acme');
  });
});

import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { apiAuth, bearer, KEYS } from '../helpers/auth.js';
import { testApi, type TestApi } from '../helpers/api.js';
import { waitFor } from '../helpers/wait.js';

const submitBody = { payload: { operation: 'echo', data: 'hi' } };

async function submitAs(api: TestApi, key: string): Promise<string> {
  const res = await api.app.inject({ method: 'POST', url: '/api/v1/submit', headers: bearer(key), payload: submitBody });
  expect(res.statusCode, res.body).toBe(202);
  return res.json<{ correlation_id: string }>().correlation_id;
}

/** Finishes a request as a worker would, with an upstream-style answer. */
async function complete(api: TestApi, id: string): Promise<void> {
  await api.store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1, workerId: 'w' });
  const outcome = { result: { secret: 'of acme' }, statusCode: 200, headers: { 'set-cookie': 'session=acme' }, processingTimeMs: 1, error: null, completedAt: Date.now() };
  const done = await api.store.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome });
  expect(done.ok).toBe(true);
}

describe('authentication off (the default)', () => {
  it('leaves every route open and records no tenant; the queue message is unchanged', async () => {
    const api = await testApi();
    const publish = vi.spyOn(api.queue, 'publish');
    const res = await api.app.inject({ method: 'POST', url: '/api/v1/submit', payload: submitBody });
    expect(res.statusCode).toBe(202);
    expect(res.headers['www-authenticate']).toBeUndefined();
    const id = res.json<{ correlation_id: string }>().correlation_id;
    expect((await api.store.get(id))?.tenant).toBeNull();
    expect(JSON.parse(publish.mock.calls[0]![1].body)).not.toHaveProperty('tenant');
    for (const url of [`/api/v1/status/${id}`, '/metrics', '/openapi.json', '/health']) {
      expect((await api.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
  });
});

describe('authentication on', () => {
  it('answers a request without a credential 401 with WWW-Authenticate and {detail, code}', async () => {
    const api = await testApi({ auth: apiAuth() });
    for (const [method, url] of [['POST', '/api/v1/submit'], ['GET', `/api/v1/status/${randomUUID()}`], ['GET', '/health'], ['GET', '/metrics'], ['GET', '/nowhere']] as const) {
      const res = await api.app.inject({ method, url, payload: method === 'POST' ? submitBody : undefined });
      expect(res.statusCode, url).toBe(401);
      expect(res.headers['www-authenticate'], url).toBe('Bearer realm="openhqm"');
      expect(res.json(), url).toEqual({ detail: expect.stringMatching(/credential is required/), code: 'HQM_ERR_UNAUTHENTICATED' });
    }
  });

  it('keeps the liveness and readiness probes open', async () => {
    const api = await testApi({ auth: apiAuth() });
    expect((await api.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    expect((await api.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
  });

  it('takes an API key as Authorization: Bearer or as X-API-Key, and refuses an unknown one with invalid_token', async () => {
    const api = await testApi({ auth: apiAuth() });
    const viaBearer = await api.app.inject({ method: 'POST', url: '/api/v1/submit', headers: bearer(KEYS.acme), payload: submitBody });
    expect(viaBearer.statusCode).toBe(202);
    const viaHeader = await api.app.inject({ method: 'POST', url: '/api/v1/submit', headers: { 'x-api-key': KEYS.acme }, payload: submitBody });
    expect(viaHeader.statusCode).toBe(202);
    for (const headers of [bearer('not-a-key-of-anyone-0000'), { 'x-api-key': 'not-a-key-of-anyone-0000' }, { authorization: `Basic ${KEYS.acme}` }]) {
      const res = await api.app.inject({ method: 'POST', url: '/api/v1/submit', headers, payload: submitBody });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="openhqm", error="invalid_token"/);
      expect(res.json().code).toBe('HQM_ERR_UNAUTHENTICATED');
      // Nothing of what was presented comes back.
      expect(res.body).not.toContain(KEYS.acme);
      expect(res.body).not.toContain('not-a-key-of-anyone');
    }
  });

  it('reads no body before authenticating: a malformed body without a credential is still a 401', async () => {
    const api = await testApi({ auth: apiAuth() });
    const res = await api.app.inject({ method: 'POST', url: '/api/v1/submit', headers: { 'content-type': 'application/json' }, payload: '{not json' });
    expect(res.statusCode).toBe(401);
  });

  describe('roles', () => {
    it('read may read its tenant\'s requests but not submit; submit may do both', async () => {
      const api = await testApi({ auth: apiAuth() });
      const id = await submitAs(api, KEYS.acme);
      const refused = await api.app.inject({ method: 'POST', url: '/api/v1/submit', headers: bearer(KEYS.acmeReader), payload: submitBody });
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toEqual({ detail: 'this endpoint needs the submit role', code: 'HQM_ERR_FORBIDDEN' });
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="openhqm", error="insufficient_scope"');
      expect((await api.app.inject({ method: 'GET', url: `/api/v1/status/${id}`, headers: bearer(KEYS.acmeReader) })).statusCode).toBe(200);
      expect((await api.app.inject({ method: 'GET', url: `/api/v1/status/${id}`, headers: bearer(KEYS.acme) })).statusCode).toBe(200);
    });

    it('/metrics, /docs, /openapi.json and the route simulator need admin; /health any credential', async () => {
      const api = await testApi({ auth: apiAuth(), simulateRoutes: async () => ({ ok: true, result: {}, warnings: [] }) });
      const admin = [
        ['GET', '/metrics'],
        ['GET', '/docs'],
        ['GET', '/docs/static/index.html'],
        ['GET', '/openapi.json'],
        ['POST', '/api/v1/routes/test'],
      ] as const;
      for (const [method, url] of admin) {
        const payload = method === 'POST' ? { message: {} } : undefined;
        expect((await api.app.inject({ method, url, headers: bearer(KEYS.acme), payload })).statusCode, url).toBe(403);
        expect((await api.app.inject({ method, url, headers: bearer(KEYS.admin), payload })).statusCode, url).toBeLessThan(400);
      }
      expect((await api.app.inject({ method: 'GET', url: '/health', headers: bearer(KEYS.acmeReader) })).statusCode).toBe(200);
    });

    it('an unclassified route needs admin: a new route is closed until someone opens it', async () => {
      const api = await testApi({ auth: apiAuth() });
      // Added after the fact, as a plugin or a later change would, without saying who may call it.
      api.app.get('/api/v1/something-new', async () => ({ ok: true }));
      // A route that declares its access gets exactly that.
      api.app.get('/api/v1/declared', { config: { access: 'read' } }, async () => ({ ok: true }));
      expect((await api.app.inject({ method: 'GET', url: '/api/v1/something-new', headers: bearer(KEYS.acme) })).statusCode).toBe(403);
      expect((await api.app.inject({ method: 'GET', url: '/api/v1/something-new', headers: bearer(KEYS.admin) })).statusCode).toBe(200);
      expect((await api.app.inject({ method: 'GET', url: '/api/v1/declared', headers: bearer(KEYS.acmeReader) })).statusCode).toBe(200);
    });

    it('documents the two credentials in /openapi.json', async () => {
      const api = await testApi({ auth: apiAuth() });
      const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json', headers: bearer(KEYS.admin) })).json();
      expect(doc.components.securitySchemes).toEqual({
        bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
        apiKey: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' }),
      });
      expect(doc.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
    });
  });

  describe('tenants', () => {
    it('records the tenant on the request and in the queue message', async () => {
      const api = await testApi({ auth: apiAuth() });
      const publish = vi.spyOn(api.queue, 'publish');
      const id = await submitAs(api, KEYS.acme);
      expect((await api.store.get(id))?.tenant).toBe('acme');
      expect(JSON.parse(publish.mock.calls[0]![1].body)).toMatchObject({ correlation_id: id, tenant: 'acme' });
    });

    it('another tenant gets the 404 of an unknown id on every endpoint that reads by id; the owner and an admin see it', async () => {
      const api = await testApi({ auth: apiAuth() });
      const id = await submitAs(api, KEYS.acme);
      await complete(api, id);
      const unknown = randomUUID();
      const paths = (x: string) => [`/api/v1/status/${x}`, `/api/v1/response/${x}`, `/api/v1/response/${x}/body`, `/api/v1/requests/${x}/events`, `/api/v1/response/${x}?wait=5`, `/api/v1/response/${x}/body?wait=5`];
      const theirs = paths(id);
      const nobodys = paths(unknown);
      for (let i = 0; i < theirs.length; i += 1) {
        const foreign = await api.app.inject({ method: 'GET', url: theirs[i]!, headers: bearer(KEYS.globex) });
        const missing = await api.app.inject({ method: 'GET', url: nobodys[i]!, headers: bearer(KEYS.globex) });
        expect(foreign.statusCode, theirs[i]).toBe(404);
        expect(foreign.body, theirs[i]).toBe(missing.body);
        expect(foreign.body).not.toContain('acme');
        for (const key of [KEYS.acme, KEYS.acmeReader, KEYS.admin]) {
          expect((await api.app.inject({ method: 'GET', url: theirs[i]!, headers: bearer(key) })).statusCode, `${theirs[i]} as ${key}`).toBe(200);
        }
      }
    });

    it('another tenant cannot wait on a pending request: answered 404 at once, without listening for it', async () => {
      const api = await testApi({ auth: apiAuth() });
      const id = await submitAs(api, KEYS.acme);
      const listen = vi.spyOn(api.store, 'onChange');
      for (const url of [`/api/v1/response/${id}?wait=2`, `/api/v1/response/${id}/body?wait=2`]) {
        const res = await api.app.inject({ method: 'GET', url, headers: bearer(KEYS.globex) });
        expect(res.statusCode, url).toBe(404);
      }
      expect(listen).not.toHaveBeenCalled();
      // The request is untouched (still waiting for a worker).
      expect((await api.store.get(id))?.status).toBe('PENDING');
    });

    it('another tenant\'s read does not settle an overdue request', async () => {
      const api = await testApi({ auth: apiAuth() });
      const res = await api.app.inject({ method: 'POST', url: '/api/v1/submit', headers: bearer(KEYS.acme), payload: { ...submitBody, metadata: { timeout: 0.001 } } });
      const id = res.json<{ correlation_id: string }>().correlation_id;
      const deadline = (await api.store.get(id))!.deadlineAt!;
      await waitFor(() => Date.now() > deadline, { what: 'the deadline to pass' });
      expect((await api.app.inject({ method: 'GET', url: `/api/v1/status/${id}`, headers: bearer(KEYS.globex) })).statusCode).toBe(404);
      expect((await api.store.get(id))?.status).toBe('PENDING');
      expect((await api.app.inject({ method: 'GET', url: `/api/v1/status/${id}`, headers: bearer(KEYS.acme) })).json().status).toBe('TIMEOUT');
    });

    it('counts requests per tenant, with tenants nobody configured as "other"', async () => {
      const api = await testApi({ auth: apiAuth() });
      api.metrics.observe(api.events, 'test', { tenantLabel: (t) => (t === 'acme' ? 'acme' : t === null ? 'none' : 'other') });
      await submitAs(api, KEYS.acme);
      await submitAs(api, KEYS.globex);
      const text = await api.metrics.registry.metrics();
      expect(text).toContain('openhqm_tenant_requests_total{tenant="acme",outcome="submitted"} 1');
      expect(text).toContain('openhqm_tenant_requests_total{tenant="other",outcome="submitted"} 1');
    });
  });
});

import { describe, expect, it } from 'vitest';
import { testApi } from '../helpers/api.js';
import { apiAuth, bearer, KEYS } from '../helpers/auth.js';

const webhooks = { enabled: true, policy: { allowPrivate: false, allowedHosts: [] }, queueName: 'openhqm-requests.webhooks', scanLimit: 100 };

describe('webhook API surface', () => {
  it('lets only admins list and redeliver failed webhooks', async () => {
    const api = await testApi({ auth: apiAuth(), webhooks });
    for (const key of [KEYS.acme, KEYS.acmeReader]) {
      expect((await api.app.inject({ method: 'GET', url: '/api/v1/webhook-deliveries?status=failed', headers: bearer(key) })).statusCode).toBe(403);
      expect((await api.app.inject({ method: 'POST', url: '/api/v1/webhook-deliveries/msg_x/redeliver', headers: bearer(key) })).statusCode).toBe(403);
    }
    expect((await api.app.inject({ method: 'GET', url: '/api/v1/webhook-deliveries' })).statusCode).toBe(401);
    const admin = await api.app.inject({ method: 'GET', url: '/api/v1/webhook-deliveries?status=failed', headers: bearer(KEYS.admin) });
    expect(admin.statusCode).toBe(200);
    expect(admin.json()).toEqual({ deliveries: [], next_cursor: null });
    const status = await api.app.inject({ method: 'GET', url: '/api/v1/webhook-deliveries?status=delivered', headers: bearer(KEYS.admin) });
    expect(status.statusCode).toBe(422);
    const cursor = await api.app.inject({ method: 'GET', url: '/api/v1/webhook-deliveries?cursor=garbage', headers: bearer(KEYS.admin) });
    expect(cursor.statusCode).toBe(422);
  });

  it('refuses callback fields with 422 while no signing secret is configured', async () => {
    const api = await testApi({ webhooks: { ...webhooks, enabled: false } });
    for (const metadata of [{ callback_url: 'https://hooks.example/x' }, { callback_events: ['request.failed'] }]) {
      const res = await api.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {}, metadata } });
      expect(res.statusCode).toBe(422);
      expect(res.json().message).toMatch(/delivery\.webhooks\.secret/);
    }
    const batch = await api.app.inject({ method: 'POST', url: '/api/v1/submit/batch', payload: { requests: [{ payload: {} }, { payload: {}, metadata: { callback_url: 'https://hooks.example/x' } }] } });
    expect(batch.statusCode).toBe(422);
    expect((await api.queue.stats('openhqm-requests')).depth).toBe(0);
  });

  it('documents the routes and the callback fields in the OpenAPI document', async () => {
    const api = await testApi({ webhooks });
    const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/webhook-deliveries', '/api/v1/webhook-deliveries/{id}/redeliver']));
    expect(JSON.stringify(doc.paths['/api/v1/submit'])).toContain('callback_events');
  });
});

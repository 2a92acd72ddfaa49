import { describe, expect, it, vi } from 'vitest';
import { apiOptions as appApiOptions } from '../../src/app/options.js';
import { configSchema } from '../../src/config/schema.js';
import { minuteOf } from '../../src/core/analytics/minutes.js';
import { testApi } from '../helpers/api.js';
import { apiAuth, bearer, KEYS } from '../helpers/auth.js';

/** The API options `openhqm start` derives from a `queues:` section. */
function namedQueueOptions(queues: Record<string, unknown>) {
  const options = appApiOptions(configSchema.parse({ queues, worker: { timeout_seconds: 300 } }), {});
  return { queues: options.queues, queueShares: options.queueShares, queueTimeouts: options.queueTimeouts };
}

const QUEUES = { high: { weight: 3 }, batched: { weight: 1, concurrency: 1, timeout_seconds: 3600 } };

describe('named queues at the API', () => {
  it('files metadata.queue to its own backend queue, with that queue\'s default deadline', async () => {
    const api = await testApi(namedQueueOptions(QUEUES));
    const submit = (metadata: Record<string, unknown>) => api.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {}, metadata } });
    const batched = await submit({ queue: 'batched' });
    const plain = await submit({});
    const shortened = await submit({ queue: 'batched', timeout: 5 });
    expect([batched.statusCode, plain.statusCode, shortened.statusCode]).toEqual([202, 202, 202]);
    expect((await api.queue.stats('openhqm-requests.batched')).depth).toBe(2);
    expect((await api.queue.stats('openhqm-requests')).depth).toBe(1);
    const record = async (res: typeof batched) => api.store.get(res.json<{ correlation_id: string }>().correlation_id);
    const [b, p, s] = await Promise.all([record(batched), record(plain), record(shortened)]);
    expect(b?.queue).toBe('batched');
    expect((b?.deadlineAt ?? 0) - (b?.submittedAt ?? 0)).toBe(3600_000);
    expect(p?.queue).toBe('default');
    expect((p?.deadlineAt ?? 0) - (p?.submittedAt ?? 0)).toBe(300_000);
    expect((s?.deadlineAt ?? 0) - (s?.submittedAt ?? 0)).toBe(5_000);
  });

  it('refuses an unknown queue with 422 naming the known ones, and stores nothing', async () => {
    const api = await testApi(namedQueueOptions(QUEUES));
    const res = await api.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {}, metadata: { queue: 'urgent' } } });
    expect(res.statusCode).toBe(422);
    expect(res.body).toContain('unknown queue \\"urgent\\"; known: default, high, batched');
    expect((await api.queue.stats('openhqm-requests')).depth).toBe(0);
  });

  it('GET /api/v1/queues lists each queue with its counts and last-minute outcomes', async () => {
    const api = await testApi(namedQueueOptions(QUEUES));
    for (let i = 0; i < 2; i += 1) await api.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {}, metadata: { queue: 'high' } } });
    // What the processes' analytics recorders write, under the names clients use.
    const minute = minuteOf(Date.now());
    await api.store.analytics.addMinutes([{ minute, queue: 'high', completed: 1, failed: 0 }, { minute, queue: 'batched', completed: 0, failed: 1 }]);
    const res = await api.app.inject({ method: 'GET', url: '/api/v1/queues' });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{ queues: Array<Record<string, unknown>>; window: unknown }>();
    expect(body.window).toEqual({ seconds: 60, scope: 'process' });
    expect(body.queues.map((q) => q.name)).toEqual(['default', 'high', 'batched']);
    const [plain, high, batched] = body.queues;
    expect(high).toMatchObject({ backend_queue: 'openhqm-requests.high', weight: 3, concurrency: null, depth: 2, delayed: 0, in_flight: 0, dead_letters: 0, completed_last_minute: 1, failed_last_minute: 0 });
    expect(high?.oldest_waiting_seconds).toEqual(expect.any(Number));
    expect(batched).toMatchObject({ backend_queue: 'openhqm-requests.batched', weight: 1, concurrency: 1, depth: 0, oldest_waiting_seconds: null, completed_last_minute: 0, failed_last_minute: 1 });
    expect(plain).toMatchObject({ name: 'default', backend_queue: 'openhqm-requests', weight: 1, depth: 0 });
  });

  it('GET /api/v1/queues answers 503 when the last-minute counts cannot be read, never zeros', async () => {
    const api = await testApi(namedQueueOptions(QUEUES));
    vi.spyOn(api.store.analytics, 'minutes').mockRejectedValueOnce(new Error('connection reset'));
    const res = await api.app.inject({ method: 'GET', url: '/api/v1/queues' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'HQM_ERR_BACKEND_UNAVAILABLE' });
  });

  it('GET /api/v1/queues is for admins only', async () => {
    const api = await testApi({ ...namedQueueOptions(QUEUES), auth: apiAuth() });
    const as = (key: string) => api.app.inject({ method: 'GET', url: '/api/v1/queues', headers: bearer(key) });
    expect((await api.app.inject({ method: 'GET', url: '/api/v1/queues' })).statusCode).toBe(401);
    expect((await as(KEYS.acme)).statusCode).toBe(403);
    expect((await as(KEYS.acmeReader)).statusCode).toBe(403);
    expect((await as(KEYS.admin)).statusCode).toBe(200);
  });

  it('is in the OpenAPI document', async () => {
    const api = await testApi(namedQueueOptions(QUEUES));
    const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, { get?: { responses: Record<string, unknown> } }> }>();
    expect(Object.keys(doc.paths['/api/v1/queues']?.get?.responses ?? {})).toContain('200');
  });

  it('without queues: lists the one default queue, as before', async () => {
    const api = await testApi();
    const res = await api.app.inject({ method: 'GET', url: '/api/v1/queues' });
    expect(res.json<{ queues: unknown[] }>().queues).toEqual([expect.objectContaining({ name: 'default', backend_queue: 'openhqm-requests', weight: 1, concurrency: null })]);
  });
});

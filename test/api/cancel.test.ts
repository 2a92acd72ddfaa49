import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/ports/logger.js';
import { WorkerPool } from '../../src/worker/runner.js';
import { QUEUE, testApi } from '../helpers/api.js';
import { apiAuth, bearer, KEYS } from '../helpers/auth.js';
import { gateway } from '../helpers/gateway.js';
import { deferred, waitFor } from '../helpers/wait.js';

describe('DELETE /api/v1/requests/{id}', () => {
  it('cancels a PENDING request, which then never runs; the trail ends in CANCELLED', async () => {
    const api = await testApi();
    const submitted = await api.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: { operation: 'echo' } } });
    const id = submitted.json<{ correlation_id: string }>().correlation_id;
    const res = await api.app.inject({ method: 'DELETE', url: `/api/v1/requests/${id}` });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ correlation_id: id, status: 'CANCELLED', error: 'cancelled', error_code: 'HQM_ERR_CANCELLED', result: null, completed_at: expect.any(String) });
    const events = await api.app.inject({ method: 'GET', url: `/api/v1/requests/${id}/events` });
    expect(events.json<{ events: Array<{ from: string | null; to: string }> }>().events.map((e) => [e.from, e.to])).toEqual([
      [null, 'PENDING'],
      ['PENDING', 'CANCELLED'],
    ]);
    // /response answers CANCELLED as the other terminal states: 200 with the error.
    const response = await api.app.inject({ method: 'GET', url: `/api/v1/response/${id}?wait=5` });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'CANCELLED', error: 'cancelled' });
  });

  it('wakes a long-poll waiting on the request, which answers CANCELLED like any ending', async () => {
    const api = await testApi();
    const submitted = await api.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {} } });
    const id = submitted.json<{ correlation_id: string }>().correlation_id;
    const waiting = deferred();
    const polls = ['response', 'requests'].map((resource) => api.app.inject({ method: 'GET', url: `/api/v1/${resource}/${id}?wait=30` }));
    // Both long-polls are registered once the store has been read for them; then cancel.
    const get = api.store.get.bind(api.store);
    let reads = 0;
    api.store.get = async (key) => {
      const record = await get(key);
      if (++reads === 2) waiting.resolve();
      return record;
    };
    await waiting.promise;
    expect((await api.app.inject({ method: 'DELETE', url: `/api/v1/requests/${id}` })).statusCode).toBe(200);
    const [response, resource] = await Promise.all(polls);
    expect(response?.statusCode).toBe(200);
    expect(response?.json()).toMatchObject({ status: 'CANCELLED', error: 'cancelled' });
    expect(resource?.statusCode).toBe(409);
    expect(resource?.json()).toMatchObject({ status: 'CANCELLED', error_code: 'HQM_ERR_CANCELLED' });
  });

  it('a PENDING request cancelled before a worker takes it is acknowledged without running', async () => {
    let ran = 0;
    const g = await gateway({ processor: async () => ++ran, worker: { concurrency: 1 } });
    await g.pool.stop();
    const id = await g.submit({});
    expect((await g.app.inject({ method: 'DELETE', url: `/api/v1/requests/${id}` })).statusCode).toBe(200);
    // A fresh pool on the same queue receives the message and finds the request terminal.
    const acked = deferred();
    const pool = new WorkerPool(
      { queue: g.queue, store: g.store, events: g.events, logger: silentLogger, processor: async () => ++ran },
      { queueName: QUEUE, concurrency: 1, visibilityTimeoutMs: 30_000, shutdownGraceMs: 1_000, workerId: 'w2', retry: { maxAttempts: 3, baseMs: 10, maxMs: 50 }, defaultTimeoutSeconds: 300, ttlMs: 60_000 },
    );
    g.events.once('delivery:received', () => acked.resolve());
    pool.start();
    await acked.promise;
    await waitFor(() => pool.active === 0, { what: 'the delivery to be settled' });
    await pool.stop();
    expect(ran).toBe(0);
    expect((await g.store.get(id))?.status).toBe('CANCELLED');
  });

  it('cancels a PROCESSING request at once and aborts its processor; the late result is refused', async () => {
    const started = deferred();
    const aborted = deferred<unknown>();
    const g = await gateway({
      processor: async (_envelope, ctx) => {
        started.resolve();
        ctx.signal.addEventListener('abort', () => aborted.resolve(ctx.signal.reason), { once: true });
        // Ignores the signal and answers late: the result must not overwrite the cancel.
        await new Promise((resolve) => setTimeout(resolve, 200));
        return { late: true };
      },
    });
    const id = await g.submit({});
    await started.promise;
    const res = await g.app.inject({ method: 'DELETE', url: `/api/v1/requests/${id}` });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'CANCELLED' });
    expect(await aborted.promise).toMatchObject({ name: 'CancelAbort' });
    await waitFor(() => g.pool.active === 0, { what: 'the attempt to end' });
    expect(await g.store.get(id)).toMatchObject({ status: 'CANCELLED', outcome: { result: null, error: 'cancelled' } });
    const events = await g.store.events(id);
    expect(events.map((e) => e.to)).toEqual(['PENDING', 'PROCESSING', 'CANCELLED']);
  });

  it('answers 409 HQM_ERR_ALREADY_FINISHED with the status of a finished request, and changes nothing', async () => {
    const g = await gateway();
    const id = await g.submit({ operation: 'echo', data: 1 });
    await g.finished(id);
    const res = await g.app.inject({ method: 'DELETE', url: `/api/v1/requests/${id}` });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ detail: expect.stringMatching(/already finished.*COMPLETED/), code: 'HQM_ERR_ALREADY_FINISHED', status: 'COMPLETED' });
    expect((await g.store.get(id))?.status).toBe('COMPLETED');
    // A second cancel of a cancelled request is too late as well.
    const pending = await g.submit({ operation: 'sleep', seconds: 30 });
    await g.app.inject({ method: 'DELETE', url: `/api/v1/requests/${pending}` });
    const again = await g.app.inject({ method: 'DELETE', url: `/api/v1/requests/${pending}` });
    expect(again.json()).toMatchObject({ code: 'HQM_ERR_ALREADY_FINISHED', status: 'CANCELLED' });
  });

  it('answers 404 for an unknown or malformed id', async () => {
    const api = await testApi();
    for (const id of [randomUUID(), 'not-an-id']) {
      const res = await api.app.inject({ method: 'DELETE', url: `/api/v1/requests/${id}` });
      expect(res.statusCode, id).toBe(404);
      expect(res.json()).toMatchObject({ code: 'HQM_ERR_NOT_FOUND' });
    }
  });

  it('lets submit and admin cancel, not read-only; another tenant\'s request is not found', async () => {
    const api = await testApi({ auth: apiAuth() });
    const submit = async () => {
      const res = await api.app.inject({ method: 'POST', url: '/api/v1/submit', headers: bearer(KEYS.acme), payload: { payload: {} } });
      return res.json<{ correlation_id: string }>().correlation_id;
    };
    const del = (id: string, key: string) => api.app.inject({ method: 'DELETE', url: `/api/v1/requests/${id}`, headers: bearer(key) });
    const id = await submit();
    expect((await del(id, KEYS.acmeReader)).statusCode).toBe(403);
    expect((await del(id, KEYS.globex)).statusCode).toBe(404);
    expect((await api.store.get(id))?.status).toBe('PENDING');
    expect((await del(id, KEYS.acme)).statusCode).toBe(200);
    expect((await del(await submit(), KEYS.admin)).statusCode).toBe(200);
    // Reading the request resource is the read role's.
    expect((await api.app.inject({ method: 'GET', url: `/api/v1/requests/${id}`, headers: bearer(KEYS.acmeReader) })).statusCode).toBe(409);
  });
});

describe('GET /api/v1/requests/{id}: the request resource Location names', () => {
  it('is where Location points, 202 with Retry-After while pending', async () => {
    const api = await testApi();
    const submitted = await api.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {} } });
    const id = submitted.json<{ correlation_id: string }>().correlation_id;
    expect(submitted.headers.location).toBe(`/api/v1/requests/${id}`);
    const res = await api.app.inject({ method: 'GET', url: submitted.headers.location as string });
    expect(res.statusCode).toBe(202);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toMatchObject({ correlation_id: id, status: 'PENDING', result: null, submitted_at: expect.any(String) });
  });

  it('answers each ending with a status a generic client reads right, with the same body /response has', async () => {
    const release = deferred();
    const g = await gateway({
      processor: async (envelope, ctx) => {
        if (envelope.payload.block === true) await new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)));
        await release.promise;
        if (envelope.payload.fail === true) throw new Error('boom');
        return { ok: 1 };
      },
      worker: { retry: { maxAttempts: 1, baseMs: 0, maxMs: 0 } },
    });
    release.resolve();
    const cases = [
      { id: await g.submit({}), status: 200, body: { status: 'COMPLETED', result: { ok: 1 }, error_code: null } },
      { id: await g.submit({ fail: true }), status: 502, body: { status: 'FAILED', error: 'boom', error_code: 'HQM_ERR_PROCESSOR_FAILED' } },
      { id: await g.submit({ block: true }, { timeout: 0.2 }), status: 504, body: { status: 'TIMEOUT', error_code: 'HQM_ERR_DEADLINE_EXCEEDED' } },
    ];
    const cancelled = await g.submit({ block: true });
    await g.app.inject({ method: 'DELETE', url: `/api/v1/requests/${cancelled}` });
    cases.push({ id: cancelled, status: 409, body: { status: 'CANCELLED', error: 'cancelled', error_code: 'HQM_ERR_CANCELLED' } as never });
    for (const { id, status, body } of cases) {
      await g.finished(id);
      const res = await g.app.inject({ method: 'GET', url: `/api/v1/requests/${id}` });
      expect(res.statusCode, body.status).toBe(status);
      expect(res.headers['retry-after']).toBeUndefined();
      expect(res.json()).toMatchObject({ correlation_id: id, ...body });
      const response = await g.app.inject({ method: 'GET', url: `/api/v1/response/${id}` });
      expect(response.statusCode, body.status).toBe(200);
      expect(res.json()).toMatchObject(response.json());
    }
  });

  it('?wait=N long-polls, and a bad wait is still a 422 {detail, code}', async () => {
    const g = await gateway();
    const id = await g.submit({ operation: 'echo', data: 'x' });
    const res = await g.app.inject({ method: 'GET', url: `/api/v1/requests/${id}?wait=5` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'COMPLETED' });
    const bad = await g.app.inject({ method: 'GET', url: `/api/v1/requests/${id}?wait=abc` });
    expect(bad.statusCode).toBe(422);
    expect(bad.json()).toMatchObject({ code: 'HQM_ERR_VALIDATION', detail: expect.anything() });
    const missing = await g.app.inject({ method: 'GET', url: `/api/v1/requests/${randomUUID()}` });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ detail: 'Request not found or expired', code: 'HQM_ERR_NOT_FOUND' });
  });

  it('is in the OpenAPI document with DELETE', async () => {
    const api = await testApi();
    const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, unknown>> }>();
    const path = Object.keys(doc.paths).find((p) => p.startsWith('/api/v1/requests/') && !p.endsWith('/events'));
    expect(path).toBeDefined();
    expect(Object.keys(doc.paths[path as string] ?? {})).toEqual(expect.arrayContaining(['get', 'delete']));
  });
});

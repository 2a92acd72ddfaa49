import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { testApi } from '../helpers/api.js';
import { gateway } from '../helpers/gateway.js';
import { deferred } from '../helpers/wait.js';

describe('reading requests', () => {
  it('status has the original shape', async () => {
    const g = await gateway();
    const id = await g.submit({ operation: 'echo', data: 1 });
    await g.finished(id);
    const res = await g.app.inject({ method: 'GET', url: `/api/v1/status/${id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ correlation_id: id, status: 'COMPLETED', submitted_at: expect.any(String), updated_at: expect.any(String), progress: null, run_at: null });
  });

  it('response is 202 while pending and 200 with the result when completed', async () => {
    const release = deferred();
    const g = await gateway({
      processor: async () => {
        await release.promise;
        return { output: 'x' };
      },
    });
    const id = await g.submit({});
    const pending = await g.app.inject({ method: 'GET', url: `/api/v1/response/${id}` });
    expect(pending.statusCode).toBe(202);
    expect(pending.json()).toMatchObject({ correlation_id: id, result: null, completed_at: null });
    expect(['PENDING', 'PROCESSING']).toContain(pending.json().status);
    release.resolve();
    await g.finished(id);
    const done = await g.app.inject({ method: 'GET', url: `/api/v1/response/${id}` });
    expect(done.statusCode).toBe(200);
    expect(done.json()).toEqual({
      correlation_id: id,
      status: 'COMPLETED',
      result: { output: 'x' },
      headers: null,
      status_code: null,
      error: null,
      error_code: null,
      processing_time_ms: expect.any(Number),
      completed_at: expect.any(String),
    });
  });

  it('response of a failed request is 200 with the error and its code; /body tells it as a bad gateway', async () => {
    const g = await gateway();
    const id = await g.submit({ operation: 'error' });
    await g.finished(id);
    const res = await g.app.inject({ method: 'GET', url: `/api/v1/response/${id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'FAILED', error: 'Test error', error_code: 'HQM_ERR_PROCESSOR_FAILED', result: null });
    const body = await g.app.inject({ method: 'GET', url: `/api/v1/response/${id}/body` });
    expect(body.statusCode).toBe(502);
    expect(body.json()).toMatchObject({ code: 'HQM_ERR_PROCESSOR_FAILED', detail: 'Test error', status: 'FAILED' });
  });

  it('?wait=N answers as soon as the request finishes, woken by the change feed', async () => {
    const started = deferred();
    const release = deferred();
    const g = await gateway({
      processor: async () => {
        started.resolve();
        await release.promise;
        return 'late';
      },
    });
    const id = await g.submit({});
    await started.promise;
    let subscribed = false;
    const onChange = g.store.onChange.bind(g.store);
    g.store.onChange = (listener) => {
      subscribed = true;
      return onChange(listener);
    };
    let reads = 0;
    const get = g.store.get.bind(g.store);
    g.store.get = async (read) => {
      if (read === id) reads += 1;
      return get(read);
    };
    const turns = async (until: () => boolean): Promise<void> => {
      for (let i = 0; i < 1000 && !until(); i += 1) await new Promise((resolve) => setImmediate(resolve));
    };
    // From here on every timer is the test's to run: a wait that re-read the record on a timer
    // would read again in the 29 s run below (the wait itself lasts 30), and could not answer
    // at all after them.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const polled = g.app.inject({ method: 'GET', url: `/api/v1/response/${id}?wait=30` });
      await turns(() => subscribed && reads === 1);
      expect(subscribed).toBe(true);
      await vi.advanceTimersByTimeAsync(29_000);
      expect(reads).toBe(1);
      release.resolve();
      const res = await polled;
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ status: 'COMPLETED', result: 'late' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('?wait=N gives up after N seconds with 202', async () => {
    const g = await gateway({ processor: () => new Promise(() => undefined), worker: { shutdownGraceMs: 50 } });
    const id = await g.submit({});
    const asked = performance.now();
    const res = await g.app.inject({ method: 'GET', url: `/api/v1/response/${id}?wait=0.2` });
    expect(res.statusCode).toBe(202);
    expect(res.headers['retry-after']).toBe('1');
    // Not before: the margin absorbs timer granularity only.
    expect(performance.now() - asked).toBeGreaterThanOrEqual(200 - 5);
  });

  it('submit ?wait=N answers 200 with the result when it finishes in time', async () => {
    const g = await gateway();
    const res = await g.app.inject({ method: 'POST', url: '/api/v1/submit?wait=10', payload: { payload: { operation: 'uppercase', data: 'sync' } } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'COMPLETED', result: { output: 'SYNC' } });
  });

  it('submit ?wait=N reads the record once, when it finished: its ticket is taken before the record is written', async () => {
    const g = await gateway();
    const get = vi.spyOn(g.store, 'get');
    const res = await g.app.inject({ method: 'POST', url: '/api/v1/submit?wait=10', payload: { payload: { operation: 'echo', data: 'x' } } });
    expect(res.statusCode).toBe(200);
    expect(get).toHaveBeenCalledTimes(1);
  });

  it('submit ?wait=N past api.max_waiters answers 202 at once, without a read', async () => {
    const { app, store } = await testApi({ maxWaiters: 0 });
    const get = vi.spyOn(store, 'get');
    const res = await app.inject({ method: 'POST', url: '/api/v1/submit?wait=10', payload: { payload: {} } });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ status: 'PENDING' });
    expect(get).not.toHaveBeenCalled();
  });

  it('submit ?wait=N that runs out answers 202 with the status the request has by then', async () => {
    const started = deferred();
    const g = await gateway({
      processor: () => {
        started.resolve();
        return new Promise(() => undefined);
      },
      worker: { shutdownGraceMs: 50 },
    });
    const res = g.app.inject({ method: 'POST', url: '/api/v1/submit?wait=0.5', payload: { payload: {} } });
    await started.promise;
    expect((await res).statusCode).toBe(202);
    expect((await res).json()).toMatchObject({ status: 'PROCESSING' });
  });

  it.each(['abc', '-1', '1e3', ''])('refuses ?wait=%s with 422 (or ignores it when empty)', async (wait) => {
    const g = await gateway();
    const id = await g.submit({});
    const res = await g.app.inject({ method: 'GET', url: `/api/v1/response/${id}?wait=${wait}` });
    if (wait === '') expect([200, 202]).toContain(res.statusCode);
    else expect(res.statusCode).toBe(422);
  });

  it('the events endpoint returns the audit trail', async () => {
    const g = await gateway();
    const id = await g.submit({ operation: 'echo' });
    await g.finished(id);
    const res = await g.app.inject({ method: 'GET', url: `/api/v1/requests/${id}/events` });
    expect(res.statusCode).toBe(200);
    expect(res.json().events.map((e: { to: string }) => e.to)).toEqual(['PENDING', 'PROCESSING', 'COMPLETED']);
    expect(res.json().events[1]).toMatchObject({ from: 'PENDING', attempt: 1, worker_id: 'test-worker', at: expect.any(String) });
  });

  it.each(['/api/v1/status', '/api/v1/response', '/api/v1/requests'])('%s answers 404 for an unknown or malformed id', async (prefix) => {
    const { app } = await testApi();
    const suffix = prefix === '/api/v1/requests' ? '/events' : '';
    for (const id of [randomUUID(), 'not-a-uuid', '..%2F..%2Fetc', 'x'.repeat(300), 'y'.repeat(5000)]) {
      const res = await app.inject({ method: 'GET', url: `${prefix}/${id}${suffix}` });
      expect(res.statusCode, id).toBe(404);
      expect(res.json()).toMatchObject({ detail: expect.any(String), code: 'HQM_ERR_NOT_FOUND' });
    }
  });

  it('an unknown path is a JSON 404', async () => {
    const { app } = await testApi();
    const res = await app.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('HQM_ERR_ROUTE_NOT_FOUND');
  });
});

describe('health, metrics and docs', () => {
  it('shows a request still waiting past its deadline as TIMEOUT, even with no worker running', async () => {
    const { app, store } = await testApi();
    const id = randomUUID();
    await store.create({ id, queue: 'default', priority: 0, submittedAt: Date.now() - 2000, deadlineAt: Date.now() - 1000, ttlMs: 60_000 });
    const status = await app.inject({ method: 'GET', url: `/api/v1/status/${id}` });
    expect(status.json()).toMatchObject({ status: 'TIMEOUT' });
    const response = await app.inject({ method: 'GET', url: `/api/v1/response/${id}` });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'TIMEOUT', error: expect.stringMatching(/deadline/) });
    expect((await store.events(id)).map((e) => e.to)).toEqual(['PENDING', 'TIMEOUT']);
  });

  it('ends a long-poll at the deadline of a request nobody processes, with TIMEOUT', async () => {
    // Each wait is far longer than the test's own timeout: only settling at the deadline answers
    // in time (a wait that ran out would settle the request then, and pass).
    const { app, store } = await testApi({ maxWaitSeconds: 600 });
    const submitted = await app.inject({ method: 'POST', url: '/api/v1/submit?wait=600', payload: { payload: {}, metadata: { timeout: 0.2 } } });
    expect(submitted.statusCode).toBe(200);
    expect(submitted.json()).toMatchObject({ status: 'TIMEOUT', error_code: 'HQM_ERR_DEADLINE_EXCEEDED' });

    const accepted = await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {}, metadata: { timeout: 0.2 } } });
    const id = accepted.json().correlation_id as string;
    const polled = await app.inject({ method: 'GET', url: `/api/v1/response/${id}?wait=600` });
    expect(polled.statusCode).toBe(200);
    expect(polled.json()).toMatchObject({ status: 'TIMEOUT' });
    expect((await store.events(id)).map((e) => e.to)).toEqual(['PENDING', 'TIMEOUT']);
  });

  it('a long-poll on a request running at its deadline answers the worker’s TIMEOUT, not a 202', async () => {
    const started = deferred();
    const g = await gateway({
      processor: () => {
        started.resolve();
        return new Promise(() => undefined); // Ignores its signal: the worker times it out.
      },
      worker: { shutdownGraceMs: 50 },
      // A wait far longer than the test may run: only the worker's TIMEOUT can end it in time.
      api: { maxWaitSeconds: 600 },
    });
    const id = await g.submit({}, { timeout: 0.3 });
    await started.promise;
    const res = await g.app.inject({ method: 'GET', url: `/api/v1/response/${id}?wait=600` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'TIMEOUT', error_code: 'HQM_ERR_DEADLINE_EXCEEDED' });
  });

  it('the audit trail of an overdue request ends in its TIMEOUT', async () => {
    const { app, store } = await testApi();
    const id = randomUUID();
    await store.create({ id, queue: 'default', priority: 0, submittedAt: Date.now() - 2000, deadlineAt: Date.now() - 1000, ttlMs: 60_000 });
    const res = await app.inject({ method: 'GET', url: `/api/v1/requests/${id}/events` });
    expect(res.json().events.map((e: { to: string }) => e.to)).toEqual(['PENDING', 'TIMEOUT']);
  });

  it('/health has the original shape and reports each component', async () => {
    const { app } = await testApi();
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'healthy', version: '0.0.0-test', timestamp: expect.any(String), components: { api: 'healthy', queue: 'healthy', cache: 'healthy' } });
  });

  it('/health/ready is 503 while a dependency is down; /health/live stays 200', async () => {
    const { app, queue } = await testApi();
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
    await queue.close();
    const ready = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'not_ready', components: { queue: 'closed' } });
    expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/health' })).json().status).toBe('degraded');
  });

  it('/metrics exposes the original metric names', async () => {
    const { app, metrics } = await testApi();
    metrics.trackQueue('openhqm-requests', async () => ({ depth: 3, inFlight: 1, deadLettered: 0 }));
    await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {} } });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    for (const name of ['openhqm_api_requests_total', 'openhqm_api_request_duration_seconds', 'openhqm_queue_publish_total', 'openhqm_queue_depth']) {
      expect(res.body).toContain(name);
    }
    expect(res.body).toContain('openhqm_queue_depth{queue_name="openhqm-requests"} 3');
  });

  it('/metrics says which backend is down (openhqm_backend_up), as /health/ready does', async () => {
    const { app, queue } = await testApi();
    const up = async (): Promise<string[]> => (await app.inject({ method: 'GET', url: '/metrics' })).body.split('\n').filter((l) => l.startsWith('openhqm_backend_up{'));
    expect(await up()).toEqual(['openhqm_backend_up{component="queue"} 1', 'openhqm_backend_up{component="cache"} 1']);
    await queue.close();
    expect(await up()).toEqual(['openhqm_backend_up{component="queue"} 0', 'openhqm_backend_up{component="cache"} 1']);
  });

  it('serves the OpenAPI document and the docs page', async () => {
    const { app } = await testApi();
    const spec = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(spec.statusCode).toBe(200);
    expect(Object.keys(spec.json().paths)).toEqual(expect.arrayContaining(['/api/v1/submit', '/api/v1/status/{correlation_id}', '/api/v1/response/{correlation_id}']));
    const docs = await app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toMatch(/swagger/i);
  });
});

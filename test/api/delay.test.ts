/** Delayed requests at the API: metadata.delay / metadata.run_at (issue 11 item 4). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { QUEUE, testApi, type TestApi } from '../helpers/api.js';
import { watchRecords } from '../helpers/records.js';

const HOUR = 3_600_000;

function submit(api: TestApi, metadata: Record<string, unknown>) {
  return api.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: { operation: 'echo' }, metadata } });
}

const locs = (body: { detail: Array<{ loc: string[]; msg: string }> }) => body.detail.map((d) => `${d.loc.join('.')}: ${d.msg}`);

afterEach(() => {
  vi.useRealTimers();
});

describe('metadata.delay and metadata.run_at', () => {
  it('metadata.delay keeps the request PENDING in the delayed part of the queue; its deadline counts from when it is due', async () => {
    const api = await testApi();
    const before = Date.now();
    const res = await submit(api, { delay: 3600, timeout: 30 });
    expect(res.statusCode).toBe(202);
    const id = res.json().correlation_id as string;
    const record = await api.store.get(id);
    expect(record?.runAt).toBeGreaterThanOrEqual(before + HOUR);
    expect(record?.runAt).toBeLessThanOrEqual(Date.now() + HOUR);
    expect(record?.deadlineAt).toBe((record?.runAt ?? 0) + 30_000);
    expect(await api.queue.stats(QUEUE)).toMatchObject({ depth: 1, delayed: 1 });

    const status = await api.app.inject({ method: 'GET', url: `/api/v1/status/${id}` });
    expect(status.json()).toMatchObject({ status: 'PENDING', run_at: new Date(record?.runAt ?? 0).toISOString() });
    const resource = await api.app.inject({ method: 'GET', url: `/api/v1/requests/${id}` });
    expect(resource.statusCode).toBe(202);
    expect(resource.json()).toMatchObject({ status: 'PENDING', run_at: new Date(record?.runAt ?? 0).toISOString() });
  });

  it('metadata.run_at is taken at its offset; a request without a delay shows run_at null', async () => {
    const api = await testApi();
    const due = new Date(Date.now() + 2 * HOUR);
    due.setUTCMilliseconds(0);
    // The same instant written at +05:30.
    const local = new Date(due.getTime() + 5.5 * HOUR).toISOString().replace('.000Z', '+05:30');
    const res = await submit(api, { run_at: local });
    expect(res.statusCode).toBe(202);
    expect((await api.store.get(res.json().correlation_id))?.runAt).toBe(due.getTime());

    const plain = await submit(api, {});
    const status = await api.app.inject({ method: 'GET', url: `/api/v1/status/${plain.json().correlation_id}` });
    expect(status.json().run_at).toBeNull();
    expect((await api.queue.stats(QUEUE)).delayed).toBe(1);
  });

  it('a delay of 0 or a run_at already past runs at once', async () => {
    const api = await testApi();
    for (const metadata of [{ delay: 0 }, { run_at: '2001-01-01T00:00:00Z' }, { delay: null }]) {
      const res = await submit(api, metadata);
      expect(res.statusCode).toBe(202);
      expect((await api.store.get(res.json().correlation_id))?.runAt).toBeNull();
    }
    expect(await api.queue.stats(QUEUE)).toMatchObject({ depth: 3, delayed: 0 });
  });

  it.each([
    ['both delay and run_at', { delay: 5, run_at: '2030-01-01T00:00:00Z' }, /body\.metadata\.run_at: .*not both/],
    ['a negative delay', { delay: -1 }, /body\.metadata\.delay: must be a number of seconds from 0 to 60 /],
    ['a delay beyond api.max_delay_seconds', { delay: 61 }, /body\.metadata\.delay: .*api\.max_delay_seconds/],
    ['a delay given as a string', { delay: '10' }, /body\.metadata\.delay/],
    ['a run_at without an offset', { run_at: '2030-01-01T09:00:00' }, /body\.metadata\.run_at: must be an ISO 8601 date-time with its offset/],
    ['a run_at on a day that does not exist', { run_at: '2030-02-30T09:00:00Z' }, /body\.metadata\.run_at: must be an ISO 8601/],
    ['a run_at that is not a time', { run_at: 'tomorrow' }, /body\.metadata\.run_at: must be an ISO 8601/],
    ['a run_at too far ahead', { run_at: new Date(Date.now() + 120_000).toISOString() }, /body\.metadata\.run_at: must be at most 60 seconds ahead \(api\.max_delay_seconds\)/],
  ])('refuses %s with 422 naming the field, storing nothing', async (_title, metadata, message) => {
    const api = await testApi({ maxDelaySeconds: 60 });
    const records = watchRecords(api.store);
    const res = await submit(api, metadata);
    expect(res.statusCode).toBe(422);
    expect(res.json().code).toBe('HQM_ERR_VALIDATION');
    expect(locs(res.json()).join('\n')).toMatch(message);
    expect((await api.queue.stats(QUEUE)).depth).toBe(0);
    expect(await records.left()).toEqual([]);
  });

  it('a backend that cannot delay refuses a delay at submit with 422 naming the backend; undelayed requests still go', async () => {
    const api = await testApi();
    Object.defineProperty(api.queue, 'capabilities', { value: { ...api.queue.capabilities, delay: false } });
    const res = await submit(api, { delay: 10 });
    expect(res.statusCode).toBe(422);
    expect(locs(res.json())).toEqual(['body.metadata.delay: the memory queue backend cannot delay messages; submit without metadata.delay']);
    const runAt = await submit(api, { run_at: new Date(Date.now() + HOUR).toISOString() });
    expect(locs(runAt.json())[0]).toMatch(/^body\.metadata\.run_at: the memory queue backend cannot delay/);
    expect((await submit(api, { delay: 0 })).statusCode).toBe(202);
    expect((await api.queue.stats(QUEUE)).depth).toBe(1);
  });

  it('a delayed request is not TIMEOUT before its deadline counted from when it is due, and is after it', async () => {
    const api = await testApi();
    const res = await submit(api, { delay: 3600, timeout: 5 });
    const id = res.json().correlation_id as string;
    const runAt = (await api.store.get(id))?.runAt ?? 0;
    vi.useFakeTimers({ toFake: ['Date'] });
    // Long past submit + timeout, still before run_at + timeout.
    vi.setSystemTime(runAt + 4_000);
    expect((await api.app.inject({ method: 'GET', url: `/api/v1/status/${id}` })).json().status).toBe('PENDING');
    vi.setSystemTime(runAt + 5_001);
    expect((await api.app.inject({ method: 'GET', url: `/api/v1/status/${id}` })).json().status).toBe('TIMEOUT');
  });

  it('a delayed request can be cancelled while it waits', async () => {
    const api = await testApi();
    const id = (await submit(api, { delay: 3600 })).json().correlation_id as string;
    const res = await api.app.inject({ method: 'DELETE', url: `/api/v1/requests/${id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'CANCELLED', run_at: expect.any(String) });
    expect((await api.store.get(id))?.status).toBe('CANCELLED');
  });

  it('batch items follow the same rules: each bad delay named by its index, nothing stored; good ones keep their own due time', async () => {
    const api = await testApi({ maxDelaySeconds: 600 });
    const item = (metadata: Record<string, unknown>) => ({ payload: { operation: 'echo' }, metadata });
    const bad = await api.app.inject({
      method: 'POST',
      url: '/api/v1/submit/batch',
      payload: { requests: [item({ delay: 10 }), item({ delay: 601 }), item({}), item({ run_at: 'soon' })] },
    });
    expect(bad.statusCode).toBe(422);
    expect(locs(bad.json()).map((l) => l.split(':')[0])).toEqual(['body.requests.1.metadata.delay', 'body.requests.3.metadata.run_at']);
    expect((await api.queue.stats(QUEUE)).depth).toBe(0);

    const good = await api.app.inject({ method: 'POST', url: '/api/v1/submit/batch', payload: { requests: [item({ delay: 10 }), item({}), item({ delay: 600 })] } });
    expect(good.statusCode).toBe(202);
    const ids = good.json<{ requests: Array<{ correlation_id: string }> }>().requests.map((r) => r.correlation_id);
    const records = await Promise.all(ids.map((id) => api.store.get(id)));
    expect(records[1]?.runAt).toBeNull();
    // Each counted from its own submission.
    expect(records.map((r) => (r?.runAt === null ? null : (r?.runAt ?? 0) - (r?.submittedAt ?? 0)))).toEqual([10_000, null, 600_000]);
    expect(await api.queue.stats(QUEUE)).toMatchObject({ depth: 3, delayed: 2 });
  });

  it('the OpenAPI document describes delay, run_at and the run_at a status shows', async () => {
    const api = await testApi();
    const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const submitSchema = doc.paths['/api/v1/submit'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(submitSchema.properties.metadata.properties)).toEqual(expect.arrayContaining(['delay', 'run_at']));
    const statusSchema = doc.paths['/api/v1/status/{correlation_id}'].get.responses['200'].content['application/json'].schema;
    expect(statusSchema.properties.run_at).toMatchObject({ format: 'date-time' });
  });
});

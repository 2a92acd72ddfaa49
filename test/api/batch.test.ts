import { describe, expect, it, vi } from 'vitest';
import { QUEUE, testApi, type TestApi } from '../helpers/api.js';

const item = (data: string, extra: Record<string, unknown> = {}) => ({ payload: { operation: 'echo', data }, ...extra });

function batch(api: TestApi, payload: unknown, headers: Record<string, string> = {}) {
  return api.app.inject({ method: 'POST', url: '/api/v1/submit/batch', headers, payload: payload as object });
}

describe('POST /api/v1/submit/batch', () => {
  it('stores every request and answers their ids in order, each with its location', async () => {
    const api = await testApi();
    const res = await batch(api, { requests: [item('a'), item('b', { metadata: { priority: 3 } }), item('c')] });
    expect(res.statusCode).toBe(202);
    const answers = res.json<{ requests: Array<{ correlation_id: string; status: string; location: string }> }>().requests;
    expect(answers).toHaveLength(3);
    for (const a of answers) {
      expect(a).toMatchObject({ status: 'PENDING', location: `/api/v1/requests/${a.correlation_id}` });
      expect(await api.store.get(a.correlation_id)).toMatchObject({ status: 'PENDING' });
    }
    expect((await api.store.get(answers[1]!.correlation_id))?.priority).toBe(3);
    expect((await api.queue.stats(QUEUE)).depth).toBe(3);
  });

  it('any bad item is a 422 naming each bad index, and nothing is stored', async () => {
    const api = await testApi();
    const res = await batch(api, { requests: [item('ok'), { metadata: {} }, item('x', { metadata: { priority: 42 } }), item('ok too')] });
    expect(res.statusCode).toBe(422);
    const locs = res.json<{ detail: Array<{ loc: string[] }> }>().detail.map((d) => d.loc.join('.'));
    expect(locs).toEqual(expect.arrayContaining(['body.requests.1.payload', 'body.requests.2.metadata.priority']));
    expect(locs.some((l) => l.startsWith('body.requests.0') || l.startsWith('body.requests.3'))).toBe(false);
    expect((await api.queue.stats(QUEUE)).depth).toBe(0);
  });

  it.each([
    ['no requests field', {}],
    ['an empty list', { requests: [] }],
    ['more than api.max_batch', { requests: [item('1'), item('2'), item('3')] }],
  ])('%s is 422', async (_name, payload) => {
    const api = await testApi({ maxBatch: 2 });
    const res = await batch(api, payload);
    expect(res.statusCode).toBe(422);
    expect(res.json().detail[0].loc).toEqual(['body', 'requests']);
  });

  it('a body over api.max_batch_body_bytes is 413; a batch may be larger than api.max_body_bytes', async () => {
    const api = await testApi({ maxBodyBytes: 2048, maxBatchBodyBytes: 8192 });
    const fits = await batch(api, { requests: Array.from({ length: 20 }, (_, i) => item(`request ${i} ${'x'.repeat(100)}`)) });
    expect(fits.statusCode).toBe(202);
    const tooBig = await batch(api, { requests: Array.from({ length: 100 }, (_, i) => item(`request ${i} ${'x'.repeat(100)}`)) });
    expect(tooBig.statusCode).toBe(413);
  });

  it('a failure mid-batch leaves no record behind and answers 503', async () => {
    const api = await testApi();
    let calls = 0;
    const real = api.queue.publish.bind(api.queue);
    vi.spyOn(api.queue, 'publish').mockImplementation(async (...args) => {
      calls += 1;
      if (calls === 2) throw new Error('broker away');
      return real(...args);
    });
    const created: string[] = [];
    const create = api.store.create.bind(api.store);
    vi.spyOn(api.store, 'create').mockImplementation(async (r) => {
      created.push(r.id);
      return create(r);
    });
    const res = await batch(api, { requests: [item('a'), item('b'), item('c')] });
    expect(res.statusCode).toBe(503);
    expect(created).toHaveLength(3);
    for (const id of created) expect(await api.store.get(id)).toBeUndefined();
  });

  it('an Idempotency-Key replays the whole batch', async () => {
    const api = await testApi();
    const payload = { requests: [item('a'), item('b')] };
    const first = await batch(api, payload, { 'idempotency-key': 'batch-1' });
    const again = await batch(api, payload, { 'idempotency-key': 'batch-1' });
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect((await api.queue.stats(QUEUE)).depth).toBe(2);
  });

  it('is in the OpenAPI document', async () => {
    const api = await testApi();
    const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, unknown> }>();
    expect(doc.paths).toHaveProperty(['/api/v1/submit/batch', 'post']);
  });
});

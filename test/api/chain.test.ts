/** `metadata.then` at the API: refused like any bad submit, with the field named; in the OpenAPI document. */
import { describe, expect, it } from 'vitest';
import { MAX_CHAIN_LENGTH } from '../../src/core/request/chain.js';
import { QUEUE, testApi, type TestApi } from '../helpers/api.js';

function submit(api: TestApi, metadata: unknown, url = '/api/v1/submit') {
  const item = { payload: { operation: 'echo', data: 'x' }, metadata };
  return api.app.inject({ method: 'POST', url, payload: url.endsWith('/batch') ? { requests: [{ payload: {} }, item] } : item });
}

function paths(res: { json(): unknown }): string[] {
  return (res.json() as { detail: Array<{ loc: string[] }> }).detail.map((d) => d.loc.join('.'));
}

describe('metadata.then at submit', () => {
  it('accepts a follow-up and queues only the first request', async () => {
    const api = await testApi();
    const res = await submit(api, { then: { payload: { operation: 'uppercase' }, metadata: { priority: 'high' }, queue: 'default' } });
    expect(res.statusCode).toBe(202);
    expect((await api.queue.stats(QUEUE)).depth).toBe(1);
  });

  it.each([
    ['not an object', 'next', ['body.metadata.then']],
    ['an unknown queue', { queue: 'nope' }, ['body.metadata.then.queue']],
    ['an unknown queue inside then.metadata', { metadata: { queue: 'nope' } }, ['body.metadata.then.metadata.queue']],
    ['a bad priority', { metadata: { priority: 42 } }, ['body.metadata.then.metadata.priority']],
    ['an unknown field', { headers: {} }, ['body.metadata.then.headers']],
    ['a payload that is not an object', { payload: 'x' }, ['body.metadata.then.payload']],
    ['a bad nested follow-up', { metadata: { then: { queue: 'nope' } } }, ['body.metadata.then.metadata.then.queue']],
  ])('refuses %s with a 422 naming the field, storing nothing', async (_name, then, expected) => {
    const api = await testApi();
    const res = await submit(api, { then });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'HQM_ERR_VALIDATION' });
    expect(paths(res)).toEqual(expected);
    expect((await api.queue.stats(QUEUE)).depth).toBe(0);
  });

  it(`refuses a chain of more than ${MAX_CHAIN_LENGTH} follow-ups`, async () => {
    const api = await testApi();
    let then: Record<string, unknown> = {};
    for (let i = 0; i < MAX_CHAIN_LENGTH; i += 1) then = { metadata: { then } };
    const res = await submit(api, { then });
    expect(res.statusCode).toBe(422);
    expect(res.json().detail).toEqual([expect.objectContaining({ loc: ['body', 'metadata', 'then'], msg: expect.stringContaining(`more than ${MAX_CHAIN_LENGTH}`) })]);
  });

  it('names the batch item whose then is bad', async () => {
    const api = await testApi();
    const res = await submit(api, { then: { queue: 'nope' } }, '/api/v1/submit/batch');
    expect(res.statusCode).toBe(422);
    expect(paths(res)).toEqual(['body.requests.1.metadata.then.queue']);
    expect((await api.queue.stats(QUEUE)).depth).toBe(0);
  });

  it('is described in the OpenAPI document, with next_id on status and result', async () => {
    const api = await testApi();
    const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const metadata = doc.paths['/api/v1/submit'].post.requestBody.content['application/json'].schema.properties.metadata;
    expect(Object.keys(metadata.properties.then.properties)).toEqual(['payload', 'metadata', 'queue']);
    for (const path of ['/api/v1/status/{correlation_id}', '/api/v1/response/{correlation_id}']) {
      expect(doc.paths[path].get.responses['200'].content['application/json'].schema.properties.next_id).toMatchObject({ type: 'string' });
    }
  });
});

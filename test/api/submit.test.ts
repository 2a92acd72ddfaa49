import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { QUEUE, testApi } from '../helpers/api.js';
import { watchRecords } from '../helpers/records.js';

const json = { 'content-type': 'application/json' };

describe('POST /api/v1/submit', () => {
  it('answers 202 with a correlation id, stores a PENDING record and queues the envelope', async () => {
    const { app, store, queue } = await testApi();
    const res = await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: { operation: 'echo', data: 'hi' }, metadata: { priority: 5 } } });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toEqual({ correlation_id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'PENDING', submitted_at: expect.any(String) });
    expect(res.headers.location).toBe(`/api/v1/requests/${body.correlation_id}`);
    expect(await store.get(body.correlation_id)).toMatchObject({ status: 'PENDING', priority: 5 });
    expect((await queue.stats(QUEUE)).depth).toBe(1);
  });

  it.each([
    ['no payload', { metadata: {} }, /payload/],
    ['payload not an object', { payload: [1, 2] }, /payload/],
    ['payload a string', { payload: 'x' }, /payload/],
    ['priority too high', { payload: {}, metadata: { priority: 10 } }, /priority/],
    ['priority negative', { payload: {}, metadata: { priority: -1 } }, /priority/],
    ['priority fractional', { payload: {}, metadata: { priority: 1.5 } }, /priority/],
    ['priority unknown name', { payload: {}, metadata: { priority: 'asap' } }, /priority/],
    ['timeout zero', { payload: {}, metadata: { timeout: 0 } }, /timeout/],
    ['timeout negative', { payload: {}, metadata: { timeout: -5 } }, /timeout/],
    ['timeout a string', { payload: {}, metadata: { timeout: 'soon' } }, /timeout/],
    ['header value a number', { payload: {}, headers: { 'X-A': 1 } }, /headers/],
    ['header name invalid', { payload: {}, headers: { 'bad name': 'x' } }, /headers/],
    ['unknown queue', { payload: {}, metadata: { queue: 'nope' } }, /queue/],
    ['a priority named after an Object method', { payload: {}, metadata: { priority: 'constructor' } }, /priority/],
    ['a header value with a control character', { payload: {}, headers: { 'Content-Type': 'x\u0001' } }, /headers/],
    ['a header value outside ISO-8859-1', { payload: {}, headers: { 'X-Price': '5 €' } }, /headers/],
    ['metadata an array', { payload: {}, metadata: [] }, /metadata/],
  ])('refuses %s with 422 naming the field, storing nothing', async (_title, payload, field) => {
    const { app, queue, store } = await testApi();
    const records = watchRecords(store);
    const res = await app.inject({ method: 'POST', url: '/api/v1/submit', payload });
    expect(res.statusCode).toBe(422);
    const body = res.json();
    expect(body.code).toBe('HQM_ERR_VALIDATION');
    expect(JSON.stringify(body.detail)).toMatch(field);
    expect((await queue.stats(QUEUE)).depth).toBe(0);
    expect(await records.left()).toEqual([]);
  });

  it('accepts the original’s named priorities and its documented example', async () => {
    const { app, store } = await testApi();
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/submit',
      payload: { payload: { operation: 'process', data: { key: 'value' } }, metadata: { priority: 'normal', timeout: 300 } },
    });
    expect(res.statusCode).toBe(202);
    expect(await store.get(res.json().correlation_id)).toMatchObject({ priority: 0 });
  });

  it.each([
    ['malformed JSON', '{"payload": {', 400, 'HQM_ERR_MALFORMED_BODY'],
    ['an empty body', '', 400, 'HQM_ERR_MALFORMED_BODY'],
    ['JSON null', 'null', 422, 'HQM_ERR_VALIDATION'],
    ['a JSON array', '[]', 422, 'HQM_ERR_VALIDATION'],
    ['a lone surrogate', '{"payload": {"a": "\\ud800"}}', 422, 'HQM_ERR_VALIDATION'],
    ['a lone surrogate in a key', '{"payload": {"\\udc00": 1}}', 422, 'HQM_ERR_VALIDATION'],
    ['a number out of range', '{"payload": {"n": 1e400}}', 422, 'HQM_ERR_VALIDATION'],
    ['a __proto__ key', '{"payload": {"__proto__": {"x": 1}}}', 422, 'HQM_ERR_VALIDATION'],
  ])('refuses %s', async (_title, raw, status, code) => {
    const { app, queue } = await testApi();
    const res = await app.inject({ method: 'POST', url: '/api/v1/submit', headers: json, payload: raw });
    expect(res.statusCode).toBe(status);
    expect(res.json().code).toBe(code);
    expect((await queue.stats(QUEUE)).depth).toBe(0);
  });

  it('refuses invalid UTF-8 with 400', async () => {
    const { app } = await testApi();
    const raw = Buffer.concat([Buffer.from('{"payload": {"a": "'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')]);
    const res = await app.inject({ method: 'POST', url: '/api/v1/submit', headers: json, payload: raw });
    expect(res.statusCode).toBe(400);
  });

  it('accepts nesting up to the depth limit and refuses one level more', async () => {
    const { app } = await testApi();
    const nest = (depth: number): unknown => (depth === 1 ? {} : { a: nest(depth - 1) });
    const ok = await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: nest(64) } });
    expect(ok.statusCode).toBe(202);
    const tooDeep = await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: nest(65) } });
    expect(tooDeep.statusCode).toBe(422);
    expect(tooDeep.json().message).toMatch(/deeper than 64 levels/);
  });

  it('survives hostile nesting without a stack overflow', async () => {
    const { app } = await testApi();
    const raw = `{"payload": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    const res = await app.inject({ method: 'POST', url: '/api/v1/submit', headers: json, payload: raw });
    expect([400, 422]).toContain(res.statusCode);
  });

  it('refuses a body over the limit with 413', async () => {
    const { app, queue } = await testApi({ maxBodyBytes: 2048 });
    const res = await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: { big: 'x'.repeat(4096) } } });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('HQM_ERR_BODY_TOO_LARGE');
    expect((await queue.stats(QUEUE)).depth).toBe(0);
  });

  it.each(['application/json; charset=utf-8', 'application/json;charset=UTF-8', 'application/vnd.api+json', 'APPLICATION/JSON'])('accepts Content-Type %s', async (type) => {
    const { app } = await testApi();
    const res = await app.inject({ method: 'POST', url: '/api/v1/submit', headers: { 'content-type': type }, payload: '{"payload": {"a": 1}}' });
    expect(res.statusCode).toBe(202);
  });

  it('refuses a non-JSON content type with 415', async () => {
    const { app } = await testApi();
    const res = await app.inject({ method: 'POST', url: '/api/v1/submit', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
    expect(res.statusCode).toBe(415);
  });

  it('refuses a compressed body with 415 naming the encoding, not as bad UTF-8', async () => {
    const { app } = await testApi();
    const res = await app.inject({ method: 'POST', url: '/api/v1/submit', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: gzipSync('{"payload": {}}') });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ code: 'HQM_ERR_UNSUPPORTED_MEDIA_TYPE', detail: expect.stringMatching(/Content-Encoding gzip/) });
  });

  it('answers 503 and keeps no record when the queue refuses the message', async () => {
    const { app, queue, store } = await testApi();
    const records = watchRecords(store);
    await queue.close();
    const res = await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {} } });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.json().code).toBe('HQM_ERR_BACKEND_UNAVAILABLE');
    // The record was written alongside the refused publish, then taken back.
    expect(records.seen).toHaveLength(1);
    expect(await records.left()).toEqual([]);
  });
});

describe('POST /api/v1/submit validation messages', () => {
  it('names every field at fault in one 422, schema and range problems together, in plain words', async () => {
    const { app } = await testApi();
    const res = await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { headers: 'x', metadata: { priority: 99, timeout: 0 } } });
    expect(res.statusCode).toBe(422);
    const fields = (res.json().detail as Array<{ loc: string[]; msg: string }>).map((d) => `${d.loc.join('.')}: ${d.msg}`);
    expect(fields).toEqual(
      expect.arrayContaining([
        'body.payload: field required',
        'body.headers: must be an object or null',
        expect.stringMatching(/^body\.metadata\.priority: must be an integer from 0 to 9/),
        expect.stringMatching(/^body\.metadata\.timeout: must be greater than 0/),
      ]),
    );
    const typed = await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {}, metadata: { priority: 1.5 } } });
    expect(typed.json().detail).toEqual([{ loc: ['body', 'metadata', 'priority'], msg: 'must be an integer or a string', type: 'value_error' }]);
  });
});

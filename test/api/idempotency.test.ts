import { describe, expect, it, vi } from 'vitest';
import { apiAuth, bearer, KEYS } from '../helpers/auth.js';
import { QUEUE, testApi, type TestApi } from '../helpers/api.js';

const body = { payload: { operation: 'echo', data: 'hi' }, metadata: { priority: 2 } };

function submit(api: TestApi, key: string | undefined, payload: unknown = body, extra: Record<string, string> = {}, url = '/api/v1/submit') {
  return api.app.inject({ method: 'POST', url, headers: { ...(key === undefined ? {} : { 'idempotency-key': key }), ...extra }, payload: payload as object });
}

describe('Idempotency-Key on POST /api/v1/submit', () => {
  it('a repeat with the same key and body answers the first request again and queues nothing more', async () => {
    const api = await testApi();
    const first = await submit(api, '"order-1"');
    expect(first.statusCode).toBe(202);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    // The same body with its keys in another order is the same request.
    const again = await submit(api, '"order-1"', { metadata: { priority: 2 }, payload: { data: 'hi', operation: 'echo' } });
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(again.headers.location).toBe(first.headers.location);
    expect((await api.queue.stats(QUEUE)).depth).toBe(1);
  });

  it('a repeat after the request finished answers 200 with its result', async () => {
    const api = await testApi();
    const { correlation_id: id } = (await submit(api, 'k-done')).json<{ correlation_id: string }>();
    await api.store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1, workerId: 'w' });
    const outcome = { result: { echoed: 'hi' }, statusCode: null, headers: null, processingTimeMs: 1, error: null, completedAt: Date.now() };
    await api.store.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome });
    const again = await submit(api, 'k-done');
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toMatchObject({ correlation_id: id, status: 'COMPLETED', result: { echoed: 'hi' } });
  });

  it('the same key with a different body is 422 naming the header, and stores nothing', async () => {
    const api = await testApi();
    await submit(api, 'k-mismatch');
    const other = await submit(api, 'k-mismatch', { payload: { operation: 'echo', data: 'other' } });
    expect(other.statusCode).toBe(422);
    expect(other.json()).toMatchObject({ code: 'HQM_ERR_IDEMPOTENCY_KEY_REUSED', detail: expect.stringMatching(/Idempotency-Key/) });
    expect((await api.queue.stats(QUEUE)).depth).toBe(1);
  });

  it.each([
    ['empty', '""'],
    ['too long', 'x'.repeat(256)],
  ])('a malformed key (%s) is 422 naming the header', async (_name, key) => {
    const api = await testApi();
    const res = await submit(api, key);
    expect(res.statusCode).toBe(422);
    expect(res.json().detail).toEqual([expect.objectContaining({ loc: ['header', 'idempotency-key'] })]);
    expect((await api.queue.stats(QUEUE)).depth).toBe(0);
  });

  it('concurrent submits with one key create one request', async () => {
    const api = await testApi();
    const answers = await Promise.all(Array.from({ length: 10 }, () => submit(api, 'k-race')));
    const ids = new Set(answers.map((a) => a.json<{ correlation_id: string }>().correlation_id));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(10).fill(202));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.headers['idempotent-replayed'] === 'true')).toHaveLength(9);
    expect((await api.queue.stats(QUEUE)).depth).toBe(1);
  });

  it('a submit that fails after its claim frees the key: the retry creates the request', async () => {
    const api = await testApi();
    const publish = vi.spyOn(api.queue, 'publish').mockRejectedValueOnce(new Error('broker away'));
    const failed = await submit(api, 'k-retry');
    expect(failed.statusCode).toBe(503);
    const retried = await submit(api, 'k-retry');
    expect(retried.statusCode).toBe(202);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    expect(publish).toHaveBeenCalledTimes(2);
    expect(await api.store.get(retried.json<{ correlation_id: string }>().correlation_id)).toMatchObject({ status: 'PENDING' });
  });

  it('keys are scoped per tenant: another tenant\'s same key is a new request', async () => {
    const api = await testApi({ auth: apiAuth() });
    const acme = await submit(api, 'shared', body, bearer(KEYS.acme));
    const globex = await submit(api, 'shared', body, bearer(KEYS.globex));
    const acmeAgain = await submit(api, 'shared', body, bearer(KEYS.acme));
    expect([acme.statusCode, globex.statusCode, acmeAgain.statusCode]).toEqual([202, 202, 202]);
    expect(globex.json().correlation_id).not.toBe(acme.json().correlation_id);
    expect(globex.headers['idempotent-replayed']).toBeUndefined();
    expect(acmeAgain.json().correlation_id).toBe(acme.json().correlation_id);
    expect(acmeAgain.headers['idempotent-replayed']).toBe('true');
  });
});

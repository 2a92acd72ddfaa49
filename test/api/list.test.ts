import { describe, expect, it } from 'vitest';
import { testApi } from '../helpers/api.js';
import { apiAuth, bearer, KEYS } from '../helpers/auth.js';

interface ListBody {
  requests: Array<{ correlation_id: string; status: string; submitted_at: string; updated_at: string; progress: number | null }>;
  next_cursor: string | null;
}

type Api = Awaited<ReturnType<typeof testApi>>;

async function submit(api: Api, headers: Record<string, string> = {}, metadata: Record<string, unknown> = {}): Promise<string> {
  const res = await api.app.inject({ method: 'POST', url: '/api/v1/submit', headers, payload: { payload: { n: 1 }, metadata } });
  expect(res.statusCode, res.body).toBe(202);
  return res.json<{ correlation_id: string }>().correlation_id;
}

async function list(api: Api, query: string, headers: Record<string, string> = {}): Promise<{ statusCode: number; body: ListBody; raw: string }> {
  const res = await api.app.inject({ method: 'GET', url: `/api/v1/requests${query}`, headers });
  return { statusCode: res.statusCode, body: res.json<ListBody>(), raw: res.body };
}

/** `ids` in list order: newest first, within one millisecond by id, descending. */
async function newestFirst(api: Api, ids: readonly string[]): Promise<string[]> {
  const times = new Map(await Promise.all(ids.map(async (id) => [id, (await api.store.get(id))?.submittedAt as number] as const)));
  return [...ids].sort((a, b) => (times.get(b) as number) - (times.get(a) as number) || (a < b ? 1 : -1));
}

describe('GET /api/v1/requests', () => {
  it('lists newest first in the shape of GET /status, a page at a time, with no gap or repeat while submits go on', async () => {
    const api = await testApi();
    const submitted: string[] = [];
    for (let i = 0; i < 12; i += 1) submitted.push(await submit(api));
    const expected = await newestFirst(api, submitted);
    const first = await list(api, '?limit=5');
    expect(first.statusCode, first.raw).toBe(200);
    expect(first.body.requests.map((r) => r.correlation_id)).toEqual(expected.slice(0, 5));
    const status = await api.app.inject({ method: 'GET', url: `/api/v1/status/${expected[0]}` });
    expect(first.body.requests[0]).toEqual(status.json());
    const seen = [...first.body.requests];
    let cursor = first.body.next_cursor;
    while (cursor !== null) {
      await submit(api); // Newer than every cursor: never shows up in the pages still to come.
      const page = await list(api, `?limit=5&cursor=${encodeURIComponent(cursor)}`);
      expect(page.statusCode, page.raw).toBe(200);
      seen.push(...page.body.requests);
      cursor = page.body.next_cursor;
    }
    expect(seen.map((r) => r.correlation_id)).toEqual(expected);
    expect((await list(api, '')).body.requests).toHaveLength(12 + 2);
  });

  it('filters by status, queue and submission time', async () => {
    const api = await testApi({ queues: new Map([['default', 'q-default'], ['high', 'q-high']]) });
    const low = await submit(api);
    const high = await submit(api, {}, { queue: 'high' });
    const cancelled = await submit(api, {}, { queue: 'high' });
    expect((await api.app.inject({ method: 'DELETE', url: `/api/v1/requests/${cancelled}` })).statusCode).toBe(200);
    const ids = async (query: string) => (await list(api, query)).body.requests.map((r) => r.correlation_id);
    expect(await ids('?queue=high')).toEqual(await newestFirst(api, [cancelled, high]));
    expect(await ids('?status=CANCELLED')).toEqual([cancelled]);
    expect(await ids('?status=PENDING&queue=high')).toEqual([high]);
    expect(await ids('?status=PENDING&queue=default')).toEqual([low]);
    // since and until are inclusive: a window of one millisecond holds the requests of that millisecond.
    const at = async (id: string) => (await api.store.get(id))?.submittedAt as number;
    const ms = await at(high);
    const sameMs = [high, ...((await at(cancelled)) === ms ? [cancelled] : [])];
    const iso = new Date(ms).toISOString();
    expect(await ids(`?since=${iso}&until=${iso}&queue=high`)).toEqual(await newestFirst(api, sameMs));
    expect(await ids(`?until=2000-01-01`)).toEqual([]);
    expect(await ids(`?since=2000-01-01T00:00:00%2B02:00`)).toEqual(await newestFirst(api, [cancelled, high, low]));
  });

  it('answers bad input with a 422 naming each parameter: an unknown status lists the valid ones', async () => {
    const api = await testApi();
    const bad = await list(api, '?status=DONE&queue=nope&since=yesterday&until=2025-01-01T10:00:00&limit=1001&cursor=xyz');
    expect(bad.statusCode, bad.raw).toBe(422);
    const detail = JSON.stringify(bad.body);
    expect(detail).toContain('HQM_ERR_VALIDATION');
    for (const name of ['status', 'queue', 'since', 'until', 'limit', 'cursor']) expect(detail).toContain(`query.${name}`);
    expect(detail).toContain('PENDING, PROCESSING, COMPLETED, FAILED, TIMEOUT, CANCELLED');
    expect(detail).toContain('known: default');
    for (const query of ['?limit=0', '?limit=abc', '?limit=2.5', '?since=2025-02-01&until=2025-01-01', `?cursor=${Buffer.from('[1,"x","y"]').toString('base64url')}`]) {
      expect((await list(api, query)).statusCode, query).toBe(422);
    }
    expect((await list(api, '?limit=1000')).statusCode).toBe(200);
  });

  it('shows a tenant only its own requests, filtered in the read; an admin sees all and may pick a tenant', async () => {
    const api = await testApi({ auth: apiAuth() });
    const acme = [await submit(api, bearer(KEYS.acme)), await submit(api, bearer(KEYS.acme))];
    const globex = await submit(api, bearer(KEYS.globex));
    const ids = async (query: string, key: string) => {
      const res = await list(api, query, bearer(key));
      expect(res.statusCode, res.raw).toBe(200);
      return res.body.requests.map((r) => r.correlation_id);
    };
    // A page of one for acme is acme's newest, although globex submitted after it: the tenant is in the read.
    const acmeOrder = await newestFirst(api, acme);
    expect(await ids('?limit=1', KEYS.acmeReader)).toEqual(acmeOrder.slice(0, 1));
    expect(await ids('', KEYS.acmeReader)).toEqual(acmeOrder);
    expect(await ids('?tenant=acme', KEYS.acme)).toEqual(acmeOrder);
    expect(await ids('', KEYS.globex)).toEqual([globex]);
    expect(await ids('', KEYS.admin)).toEqual(await newestFirst(api, [globex, ...acme]));
    expect(await ids('?tenant=globex', KEYS.admin)).toEqual([globex]);
    const forbidden = await list(api, '?tenant=globex', bearer(KEYS.acme));
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.body).toMatchObject({ code: 'HQM_ERR_FORBIDDEN' });
    expect((await list(api, '')).statusCode).toBe(401);
  });

  it('is in the OpenAPI document', async () => {
    const api = await testApi();
    const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, { parameters?: Array<{ name: string }> }>> }>();
    const op = doc.paths['/api/v1/requests']?.get;
    expect(op?.parameters?.map((p) => p.name).sort()).toEqual(['cursor', 'limit', 'queue', 'since', 'status', 'tenant', 'until']);
  });
});

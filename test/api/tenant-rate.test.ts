import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { rateWindowOf } from '../../src/core/request/tenant-rate.js';
import { QUEUE, testApi } from '../helpers/api.js';
import { apiAuth, bearer, KEYS, TEST_KEYS } from '../helpers/auth.js';

const submitBody = { payload: { n: 1 } };
const INITECH_KEY = 'initech-submit-key-0123456';
const KEYS_WITH_UNLISTED = [...TEST_KEYS, { id: 'initech', key: INITECH_KEY, tenant: 'initech', roles: ['submit'] }];

/** An API with auth on and the rate limits of `auth` (a slow rate: a window never ends inside a test). */
async function rateApi(auth: Record<string, unknown>) {
  const section = { enabled: true, api_keys: KEYS_WITH_UNLISTED, ...auth };
  const config = configSchema.parse({ auth: section });
  return testApi({
    auth: apiAuth(section),
    tenantRate: { windowOf: (tenant) => rateWindowOf(config.auth.tenants, config.auth.default_tenant, tenant) },
  });
}

const submit = (api: Awaited<ReturnType<typeof testApi>>, key: string) =>
  api.app.inject({ method: 'POST', url: '/api/v1/submit', headers: bearer(key), payload: submitBody });

describe('per-tenant submit rate', () => {
  it('answers 429 HQM_ERR_RATE_LIMITED with Retry-After and RateLimit headers to a tenant over its rate, and leaves another tenant alone', async () => {
    const api = await rateApi({ tenants: { acme: { rate_per_second: 0.001, burst: 2 }, globex: { rate_per_second: 0.001, burst: 2 } } });
    const first = await submit(api, KEYS.acme);
    expect(first.statusCode).toBe(202);
    expect(first.headers['ratelimit-limit']).toBe('2');
    expect(first.headers['ratelimit-remaining']).toBe('1');
    expect((await submit(api, KEYS.acme)).statusCode).toBe(202);
    const over = await submit(api, KEYS.acme);
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ code: 'HQM_ERR_RATE_LIMITED', detail: expect.stringContaining('tenant acme') });
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(over.headers['ratelimit-remaining']).toBe('0');
    expect(over.headers['ratelimit-limit']).toBe('2');
    // Nothing was queued for the refused submit.
    expect((await api.queue.stats(QUEUE)).depth).toBe(2);
    expect((await submit(api, KEYS.globex)).statusCode).toBe(202);
  });

  it('counts a batch as one submit, on the same count as single submits', async () => {
    const api = await rateApi({ tenants: { acme: { rate_per_second: 0.001, burst: 2 } } });
    const batch = () => api.app.inject({ method: 'POST', url: '/api/v1/submit/batch', headers: bearer(KEYS.acme), payload: { requests: [submitBody, submitBody, submitBody] } });
    expect((await batch()).statusCode).toBe(202);
    expect((await submit(api, KEYS.acme)).statusCode).toBe(202);
    const over = await batch();
    expect(over.statusCode).toBe(429);
    expect(over.json().code).toBe('HQM_ERR_RATE_LIMITED');
  });

  it('limits a tenant not in auth.tenants by auth.default_tenant, and a listed tenant without a rate too', async () => {
    const api = await rateApi({ tenants: { acme: { max_concurrency: 3 } }, default_tenant: { rate_per_second: 0.001, burst: 1 } });
    expect((await submit(api, INITECH_KEY)).statusCode).toBe(202);
    expect((await submit(api, INITECH_KEY)).statusCode).toBe(429);
    expect((await submit(api, KEYS.acme)).statusCode).toBe(202);
    expect((await submit(api, KEYS.acme)).statusCode).toBe(429);
  });

  it('leaves a listed tenant whose rate is null unlimited under a limiting default', async () => {
    const api = await rateApi({ tenants: { acme: { rate_per_second: null } }, default_tenant: { rate_per_second: 0.001, burst: 1 } });
    for (let i = 0; i < 5; i++) expect((await submit(api, KEYS.acme)).statusCode).toBe(202);
    expect((await submit(api, KEYS.globex)).statusCode).toBe(202);
    expect((await submit(api, KEYS.globex)).statusCode).toBe(429);
  });

  it('never limits with auth off (no request has a tenant), nor reads of a limited tenant', async () => {
    const open = await testApi({ tenantRate: { windowOf: () => ({ max: 1, windowMs: 3_600_000 }) } });
    for (let i = 0; i < 3; i++) {
      const res = await open.app.inject({ method: 'POST', url: '/api/v1/submit', payload: submitBody });
      expect(res.statusCode).toBe(202);
      expect(res.headers['ratelimit-limit']).toBeUndefined();
    }
    const api = await rateApi({ default_tenant: { rate_per_second: 0.001, burst: 1 } });
    const id = (await submit(api, KEYS.acme)).json().correlation_id as string;
    for (let i = 0; i < 3; i++) expect((await api.app.inject({ method: 'GET', url: `/api/v1/status/${id}`, headers: bearer(KEYS.acmeReader) })).statusCode).toBe(200);
  });

  it('answers 401, not 429, to a request without a credential', async () => {
    const api = await rateApi({ default_tenant: { rate_per_second: 0.001, burst: 1 } });
    expect((await api.app.inject({ method: 'POST', url: '/api/v1/submit', payload: submitBody })).statusCode).toBe(401);
  });
});

describe('rate_per_second and burst', () => {
  const parse = (auth: Record<string, unknown>) => configSchema.safeParse({ auth });
  it('map to a window of burst submits per burst / rate seconds; burst defaults to one second’s worth', () => {
    expect(rateWindowOf({}, { rate_per_second: 10, burst: 20 }, 't')).toEqual({ max: 20, windowMs: 2000 });
    expect(rateWindowOf({}, { rate_per_second: 2.5, burst: null }, 't')).toEqual({ max: 3, windowMs: 1200 });
    expect(rateWindowOf({}, { rate_per_second: 0.5, burst: null }, 't')).toEqual({ max: 1, windowMs: 2000 });
    expect(rateWindowOf({}, { rate_per_second: 5, burst: null }, null)).toBeNull();
    expect(rateWindowOf({ t: { rate_per_second: 1 } }, { rate_per_second: 5, burst: 10 }, 't')).toEqual({ max: 10, windowMs: 10_000 });
  });

  it('default to null (unlimited) and are refused when not positive, or a burst without a rate', () => {
    const ok = parse({});
    expect(ok.success && ok.data.auth.default_tenant).toMatchObject({ rate_per_second: null, burst: null });
    for (const bad of [
      { default_tenant: { rate_per_second: 0 } },
      { default_tenant: { rate_per_second: -1 } },
      { default_tenant: { rate_per_second: 1, burst: 0 } },
      { default_tenant: { rate_per_second: 1, burst: 1.5 } },
      { default_tenant: { burst: 5 } },
      { tenants: { acme: { rate_per_second: 'fast' } } },
      { tenants: { acme: { rate: 5 } } },
    ]) {
      const r = parse(bad);
      expect(r.success, JSON.stringify(bad)).toBe(false);
    }
    const msg = parse({ default_tenant: { burst: 5 } });
    expect(msg.success ? '' : msg.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join()).toContain('auth.default_tenant.burst: needs rate_per_second');
  });
});

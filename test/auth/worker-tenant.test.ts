/** The tenant travels with the request to the processor and into the worker's metrics. */
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observability/metrics.js';
import { apiAuth, bearer, KEYS } from '../helpers/auth.js';
import { gateway } from '../helpers/gateway.js';

describe('a tenant in the worker', () => {
  it('is ctx.tenant for the processor and labels the outcome metrics', async () => {
    const g = await gateway({ api: { auth: apiAuth() }, processor: async (request, ctx) => ({ tenant: ctx.tenant, inEnvelope: request.tenant ?? null }) });
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.observe(g.events, 'w', { tenantLabel: (t) => t ?? 'none' });
    const res = await g.app.inject({ method: 'POST', url: '/api/v1/submit', headers: bearer(KEYS.acme), payload: { payload: {} } });
    const id = res.json<{ correlation_id: string }>().correlation_id;
    const record = await g.finished(id);
    expect(record.outcome?.result).toEqual({ tenant: 'acme', inEnvelope: 'acme' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('openhqm_tenant_requests_total{tenant="acme",outcome="submitted"} 1');
    expect(text).toContain('openhqm_tenant_requests_total{tenant="acme",outcome="completed"} 1');
  });

  it('is null without authentication', async () => {
    const g = await gateway({ processor: async (_request, ctx) => ({ tenant: ctx.tenant }) });
    const record = await g.finished(await g.submit({}));
    expect(record.outcome?.result).toEqual({ tenant: null });
  });
});

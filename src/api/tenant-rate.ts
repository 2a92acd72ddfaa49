/**
 * The per-tenant submit rate (auth.tenants.<t>.rate_per_second) on every route that takes new
 * work: POST /api/v1/submit, /api/v1/submit/batch and the capture route. @fastify/rate-limit
 * counts, keyed by the caller's tenant; it runs as each route's onRequest hook, after the auth
 * hook, so the tenant is known and a caller without a credential is told 401, not 429.
 *
 * One count per tenant across those routes: the plugin is global, so every route shares its
 * store (a per-route configuration would give each route a count of its own). A batch counts
 * as one submit: the plugin has no per-request cost, and the batch's size is bounded by
 * api.max_batch (D72).
 *
 * @module
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HqmError } from '../core/errors.js';
import type { RateWindow } from '../core/request/tenant-rate.js';
import { tenantOf } from './auth.js';
import type { TenantRateOptions } from './context.js';

/** Where counts live in Redis: keys are this plus the tenant name. */
const REDIS_NAMESPACE = 'openhqm:rate:';

export async function registerTenantRate(app: FastifyInstance, options: TenantRateOptions, limitedRoutes: ReadonlySet<string>): Promise<void> {
  const windowOf = (request: FastifyRequest): RateWindow | null => {
    const tenant = tenantOf(request);
    return tenant === null ? null : options.windowOf(tenant);
  };
  // Never reached for a skipped request (allowList runs first): the fallbacks only satisfy the types.
  const window = (request: FastifyRequest): RateWindow => windowOf(request) ?? { max: Number.MAX_SAFE_INTEGER, windowMs: 1000 };
  await app.register(rateLimit, {
    global: true,
    // RateLimit-Limit, -Remaining, -Reset and Retry-After (draft-ietf-httpapi-ratelimit-headers), not X-RateLimit-*.
    enableDraftSpec: true,
    ...(options.redis === undefined ? {} : { redis: options.redis, nameSpace: REDIS_NAMESPACE }),
    keyGenerator: (request) => tenantOf(request) ?? '',
    // Not limited: other routes, requests without a tenant (auth off, open capture) and tenants without a rate.
    allowList: (request) => !limitedRoutes.has(request.routeOptions.url ?? '') || windowOf(request) === null,
    max: async (request) => window(request).max,
    timeWindow: async (request) => window(request).windowMs,
    errorResponseBuilder: (request, context) =>
      new HqmError('HQM_ERR_RATE_LIMITED', `tenant ${tenantOf(request) ?? ''} may submit at most ${context.max} requests per ${windowText(window(request).windowMs)}; retry in ${context.after}`),
  });
}

function windowText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

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
import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HqmError } from '../core/errors.js';
import type { RateWindow } from '../core/request/tenant-rate.js';
import type { RateWindows } from '../ports/result-store.js';
import { tenantOf } from './auth.js';
import type { TenantRateOptions } from './context.js';

/**
 * Counts in the result store when it is shared (`rateWindows`), so every API process on it
 * shares one count per tenant; without it the plugin's in-process store counts.
 */
export async function registerTenantRate(app: FastifyInstance, options: TenantRateOptions, limitedRoutes: ReadonlySet<string>, shared?: RateWindows): Promise<void> {
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
    ...(shared === undefined ? {} : { store: sharedStore(shared) }),
    // The store unreachable: the submit itself will answer 503; the limit does not turn that into a 500.
    skipOnError: true,
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

/** The plugin's store interface over the port: a fixed window per key, as the plugin's own stores keep. */
function sharedStore(windows: RateWindows): FastifyRateLimitStoreCtor {
  class SharedWindows implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      windows.hit(`tenant:${key}`, timeWindow).then(
        ({ count, resetInMs }) => callback(null, { current: count, ttl: resetInMs }),
        (error: unknown) => callback(error as Error),
      );
    }

    child(): FastifyRateLimitStore {
      return this;
    }
  }
  return SharedWindows;
}

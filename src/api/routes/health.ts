/**
 * Health and metrics: /health in the original's shape, /health/live (the process answers),
 * /health/ready (503 while a dependency is down or shutdown has begun), /metrics.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../observability/metrics.js';
import type { HealthReport } from '../../ports/health.js';
import type { QueueBackend } from '../../ports/queue-backend.js';
import type { ResultStore } from '../../ports/result-store.js';
import { healthResponse } from '../schemas.js';

/** What the health routes read: the API's, or a worker process's own probe listener. */
export interface HealthContext {
  readonly queue: QueueBackend;
  readonly store: ResultStore;
  readonly metrics?: Metrics;
  /** More components (the worker pool of the process). */
  readonly components?: () => Promise<Record<string, HealthReport>>;
  /** The component that turns unready once shutdown begins (`api`); none for a worker's listener. */
  readonly self?: string;
  readonly closing: () => boolean;
  readonly version: string;
}

export function registerHealthRoutes(app: FastifyInstance, ctx: HealthContext): void {
  const check = async (): Promise<Record<string, HealthReport>> => {
    const [queue, cache, extra] = await Promise.all([safe(() => ctx.queue.health()), safe(() => ctx.store.health()), ctx.components?.() ?? {}]);
    const self = ctx.self === undefined ? {} : { [ctx.self]: { ok: !ctx.closing(), detail: ctx.closing() ? 'shutting down' : undefined } };
    return { ...self, queue, cache, ...extra };
  };

  app.get('/health', { schema: { tags: ['health'], summary: 'Health of the process and its dependencies', response: { 200: healthResponse } } }, async () => {
    const components = await check();
    const healthy = Object.values(components).every((c) => c.ok);
    return {
      status: healthy ? 'healthy' : 'degraded',
      version: ctx.version,
      timestamp: new Date().toISOString(),
      components: Object.fromEntries(Object.entries(components).map(([name, c]) => [name, c.ok ? 'healthy' : 'unhealthy'])),
    };
  });

  app.get('/health/live', { schema: { tags: ['health'], summary: 'Liveness: the process answers' } }, async () => ({ status: 'alive' }));

  app.get('/health/ready', { schema: { tags: ['health'], summary: 'Readiness: 503 while a dependency is down or shutdown has begun' } }, async (_request, reply) => {
    const components = await check();
    const ready = Object.values(components).every((c) => c.ok);
    const details = Object.fromEntries(Object.entries(components).map(([name, c]) => [name, c.ok ? 'ready' : (c.detail ?? 'unavailable')]));
    if (!ready) reply.code(503).header('retry-after', '2');
    return { status: ready ? 'ready' : 'not_ready', components: details };
  });

  // The backends' half of readiness, as a metric: what alerts can see without probing.
  ctx.metrics?.watchBackends(async () => {
    const [queue, cache] = await Promise.all([safe(() => ctx.queue.health()), safe(() => ctx.store.health())]);
    return { queue: queue.ok, cache: cache.ok };
  });

  const metrics = ctx.metrics;
  if (metrics !== undefined) {
    app.get('/metrics', { schema: { tags: ['health'], summary: 'Prometheus metrics' } }, async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.text();
    });
  }
}

async function safe(probe: () => Promise<HealthReport>): Promise<HealthReport> {
  try {
    return await probe();
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  }
}

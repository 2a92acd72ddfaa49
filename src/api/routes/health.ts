/**
 * Health and metrics: /health in the original's shape, /health/live (the process answers),
 * /health/ready (503 while a dependency is down or shutdown has begun), /metrics.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { HealthReport } from '../../ports/health.js';
import type { RouteContext } from '../context.js';
import { healthResponse } from '../schemas.js';

export function registerHealthRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const check = async (): Promise<Record<string, HealthReport>> => {
    const [queue, cache, extra] = await Promise.all([safe(() => ctx.queue.health()), safe(() => ctx.store.health()), ctx.components?.() ?? {}]);
    return { api: { ok: !ctx.closing(), detail: ctx.closing() ? 'shutting down' : undefined }, queue, cache, ...extra };
  };

  app.get('/health', { schema: { tags: ['health'], summary: 'Health of the process and its dependencies', response: { 200: healthResponse } } }, async () => {
    const components = await check();
    const healthy = Object.values(components).every((c) => c.ok);
    return {
      status: healthy ? 'healthy' : 'degraded',
      version: ctx.options.version,
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

  const metrics = ctx.metrics;
  if (metrics !== undefined) {
    app.get('/metrics', { schema: { tags: ['health'], summary: 'Prometheus metrics' } }, async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
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

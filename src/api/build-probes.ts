/**
 * The HTTP listener of a worker-only process (`openhqm worker` with `monitoring.metrics_port`):
 * /health, /health/live, /health/ready and /metrics, so its heartbeat and counters can be
 * scraped and its pod probed. No request API: submits and reads belong to `openhqm api`.
 *
 * @module
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { registerErrorHandling } from './error-handler.js';
import { registerHealthRoutes, type HealthContext } from './routes/health.js';

export function buildProbes(ctx: HealthContext, logger?: FastifyBaseLogger): FastifyInstance {
  const app = Fastify({
    ...(logger === undefined ? { logger: false } : { loggerInstance: logger }),
    logController: new LogController({ disableRequestLogging: true }),
    // Scrapes and probes send no body; anything larger is not one of them.
    bodyLimit: 1024,
  });
  registerErrorHandling(app);
  registerHealthRoutes(app, ctx);
  return app;
}

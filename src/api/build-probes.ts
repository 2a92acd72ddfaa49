/**
 * The HTTP listener of a worker-only process (`openhqm worker` with `monitoring.metrics_port`):
 * /health, /health/live, /health/ready and /metrics, so its heartbeat and counters can be
 * scraped and its pod probed. No request API: submits and reads belong to `openhqm api`.
 *
 * @module
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { registerAuth, type ApiAuth } from './auth.js';
import { registerErrorHandling } from './error-handler.js';
import { registerHealthRoutes, type HealthContext } from './routes/health.js';

/** With `auth` (auth.enabled), /health and /metrics ask for credentials as the API's do; the probes stay open. */
export function buildProbes(ctx: HealthContext, logger?: FastifyBaseLogger, auth?: Omit<ApiAuth, 'captureRequiresAuth'>): FastifyInstance {
  const app = Fastify({
    ...(logger === undefined ? { logger: false } : { loggerInstance: logger }),
    logController: new LogController({ disableRequestLogging: true }),
    // Scrapes and probes send no body; anything larger is not one of them.
    bodyLimit: 1024,
  });
  registerErrorHandling(app);
  registerAuth(app, auth === undefined ? undefined : { ...auth, captureRequiresAuth: false }, { prefix: '', capture: false });
  registerHealthRoutes(app, ctx);
  return app;
}

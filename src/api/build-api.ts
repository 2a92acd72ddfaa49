/**
 * The Fastify application as a function of its dependencies: no sockets, no globals, so tests
 * drive it with `app.inject()` on the in-memory backends and the composition root listens.
 *
 * Scopes: the control routes (under `capture.controlPrefix`, '' by default) with, inside them,
 * the ingress route guarded by load shedding and the dashboard's files when one is handed in;
 * and, in sidecar mode, the capture route that takes every other path with raw bodies.
 *
 * @module
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import underPressure from '@fastify/under-pressure';
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { HqmError } from '../core/errors.js';
import { trustFunction } from '../core/trust.js';
import { registerAuth } from './auth.js';
import { answerClientError, answerFrameworkError } from './client-errors.js';
import { CompletionWaiters } from './completion-waiters.js';
import type { ApiDeps, ApiOptions, RouteContext } from './context.js';
import { registerErrorHandling, routeNotFound, sendError } from './error-handler.js';
import { registerJsonParser } from './json-body.js';
import { lazyRequestLogger } from './request-logger.js';
import { DepthGates } from './load-shedding.js';
import { registerCaptureRoute } from './routes/capture.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerCancelRoute } from './routes/cancel.js';
import { registerDeadLetterRoutes } from './routes/dead-letters.js';
import { registerQueuesRoute } from './routes/queues.js';
import { registerReadRoutes } from './routes/read.js';
import { registerListRoute } from './routes/list.js';
import { registerRoutesTestRoute } from './routes/routes-test.js';
import { registerStatsRoute } from './routes/stats.js';
import { registerBatchRoute } from './routes/batch.js';
import { registerSubmitRoute } from './routes/submit.js';
import { registerTenantRate } from './tenant-rate.js';
import { registerWebhookDeliveryRoutes } from './routes/webhook-deliveries.js';
import { registerWebSocketRoute } from './routes/ws.js';
import { registerTracing } from './tracing.js';
import { streamOptions } from './streams/options.js';
import { StreamHub } from './streams/stream-hub.js';

export interface BuildApiArgs extends ApiDeps {
  readonly options: ApiOptions;
  readonly logger?: FastifyBaseLogger;
}

export async function buildApi(args: BuildApiArgs): Promise<FastifyInstance> {
  const { options } = args;
  // One compiled rule for Fastify's request.ip and for the forwarding headers sent upstream.
  const trust = trustFunction(options.trustProxy);
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const app = Fastify({
    ...(args.logger === undefined ? { logger: false } : { loggerInstance: args.logger, childLoggerFactory: lazyRequestLogger }),
    // HTTPS when server.tls is set (Fastify then builds an https server; the routes are the same).
    ...(options.tls === undefined ? {} : ({ https: options.tls } as object)),
    // One log line per request would cost more than the rest of a submit; metrics count them.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxBodyBytes,
    // A client that stops sending mid-request (slowloris) holds a socket for Node's 300 s
    // otherwise. Only receiving the request is bounded: a long-poll's wait for its answer is not.
    // Node enforces it when it checks its connections (every 30 s by default: every second here),
    // and only while its headers timeout is not the longer of the two.
    requestTimeout,
    http: { connectionsCheckingInterval: Math.min(1000, requestTimeout), headersTimeout: Math.min(60_000, requestTimeout) },
    trustProxy: trust,
    // Answered by the onRequest hook below, with our error body.
    return503OnClosing: false,
    routerOptions: {
      ignoreTrailingSlash: true,
      // An over-long id names no request: 404 like any other unknown id, not 414.
      maxParamLength: 1024,
      onMaxParamLength: (_path, _req, res) => {
        res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ detail: 'Request not found or expired', code: 'HQM_ERR_NOT_FOUND' }));
      },
    },
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    ajv: { customOptions: { coerceTypes: false, allErrors: true, removeAdditional: false, allowUnionTypes: true } },
  });

  let closed = false;
  const processClosing = args.closing ?? (() => false);
  const closing = (): boolean => closed || processClosing();
  const waiters = new CompletionWaiters(args.store, options.maxWaiters);
  const depthGate = new DepthGates(args.queue, options.maxQueueDepth);
  const streamHub = new StreamHub(args.store, streamOptions(options.streams).maxStreams);
  const ctx: RouteContext = { ...args, options, waiters, depthGate, closing, trust, streamHub };
  args.metrics?.watchLiveStreams(() => streamHub.streams);
  // Before every other hook: a request refused by one of them still has its span.
  if (args.tracing !== undefined) registerTracing(app, args.tracing, options.capture.controlPrefix);

  app.addHook('preClose', async () => {
    closed = true;
    waiters.releaseAll();
    // Live SSE and WebSocket streams end, or the listener would wait for them to.
    streamHub.closeAll();
  });
  // Before any route: the plugin wraps each WebSocket route as it is added. And before the auth
  // hook: its own onRequest hook marks an upgrade, so an upgrade refused (401, 404, 503) has its
  // socket closed rather than left open. A message may carry a submit body as large as POST
  // /submit takes, plus its envelope; a larger one closes the socket with 1009.
  // At close, the hub ends each connection with 1001 (going away) rather than the plugin's bare close.
  await app.register(websocket, {
    options: { maxPayload: options.maxBodyBytes + 64 * 1024 },
    preClose: (done) => {
      streamHub.closeAll();
      app.websocketServer.close(() => done());
    },
  });
  // First of all, before the route's existence and before any body parsing: with auth on, a caller
  // without a credential learns nothing (not even which paths exist), at the cost of its headers only.
  registerAuth(app, options.auth, { prefix: options.capture.controlPrefix, capture: options.capture.enabled });
  app.addHook('onRequest', (request, _reply, done) => {
    // Routing errors first: a body for a path or method that does not exist is never parsed,
    // so a bad or empty body cannot turn the 404 into a 400 (or a 413, or a 415).
    done(closed ? shuttingDown() : request.is404 ? routeNotFound(request) : undefined);
  });
  // While the process drains (before the listener closes) only new work is refused: reads,
  // long-polls and probes are still answered, and /health/ready says 503.
  const refuseNewWork = (scope: FastifyInstance): void => {
    scope.addHook('onRequest', (_request, _reply, done) => done(closing() ? shuttingDown() : undefined));
  };
  const metrics = args.metrics;
  if (metrics !== undefined) {
    app.addHook('onResponse', (request, reply, done) => {
      metrics.recordApiRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }

  registerErrorHandling(app);
  registerJsonParser(app, { maxDepth: options.maxJsonDepth });
  // Before any route is added: the plugin hooks each route as it is registered.
  if (options.tenantRate !== undefined) {
    const prefix = options.capture.controlPrefix;
    const limited = new Set([`${prefix}/api/v1/submit`, `${prefix}/api/v1/submit/batch`, ...(options.capture.enabled ? ['/*'] : [])]);
    await registerTenantRate(app, options.tenantRate, limited, args.store.rateWindows);
  }
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'OpenHQM',
        version: options.version,
        description: 'Asynchronous HTTP request gateway: submit a request, get a correlation id at once (202), fetch the result by id.',
      },
      tags: [
        { name: 'requests', description: 'Submit requests and fetch their status and results' },
        { name: 'health', description: 'Probes and metrics' },
        { name: 'routing', description: 'The routing engine' },
        { name: 'queues', description: 'Named queues and their backlog' },
        { name: 'webhooks', description: 'Webhook deliveries that failed for good (admin)' },
      ],
      components: { securitySchemes: SECURITY_SCHEMES },
      // With auth.enabled every route but /health/live and /health/ready needs one of them.
      ...(options.auth === undefined ? {} : { security: [{ bearer: [] }, { apiKey: [] }] }),
    },
  });

  const prefix = options.capture.controlPrefix;
  await app.register(
    async (control) => {
      // The page names its assets by absolute path when its URL has no trailing slash; without
      // indexPrefix those paths would miss the control prefix and be captured (a blank page).
      if (options.docsEnabled) await control.register(swaggerUi, { routePrefix: '/docs', ...(prefix === '' ? {} : { indexPrefix: prefix }) });
      await control.register(async (ingress) => {
        refuseNewWork(ingress);
        await guardEventLoop(ingress, options.maxEventLoopDelayMs);
        registerSubmitRoute(ingress, ctx);
        registerBatchRoute(ingress, ctx);
      });
      registerReadRoutes(control, ctx);
      registerWebSocketRoute(control, ctx);
      registerCancelRoute(control, ctx);
      registerListRoute(control, ctx);
      registerStatsRoute(control, ctx);
      registerDeadLetterRoutes(control, ctx);
      registerQueuesRoute(control, ctx);
      registerWebhookDeliveryRoutes(control, ctx);
      registerRoutesTestRoute(control, ctx);
      registerHealthRoutes(control, { ...ctx, self: 'api', version: options.version });
      control.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
      if (args.dashboard !== undefined) await control.register(args.dashboard, { prefix: '/dashboard' });
    },
    { prefix },
  );
  if (options.capture.enabled) {
    await app.register(async (captured) => {
      refuseNewWork(captured);
      await guardEventLoop(captured, options.maxEventLoopDelayMs);
      registerCaptureRoute(captured, ctx);
    });
  }
  return app;
}

function shuttingDown(): HqmError {
  return new HqmError('HQM_ERR_SHUTTING_DOWN', 'this process is shutting down; try again (another instance may answer)');
}
/** The credentials auth.enabled accepts (docs/security.md). */
const SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', description: 'An API key (auth.api_keys) or a JWT (auth.jwt): `Authorization: Bearer <key or token>`.' },
  apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key (auth.api_keys).' },
} as const;

/** 503 instead of more work while the event loop lags (health and reads stay answered). */
async function guardEventLoop(scope: FastifyInstance, maxDelayMs: number): Promise<void> {
  if (maxDelayMs === 0) return;
  await scope.register(underPressure, {
    maxEventLoopDelay: maxDelayMs,
    pressureHandler: (_request, reply, type, value) => {
      sendError(reply, new HqmError('HQM_ERR_OVERLOADED', `the server is overloaded (${type}: ${Math.round(Number(value))}); try again shortly`));
    },
  });
}

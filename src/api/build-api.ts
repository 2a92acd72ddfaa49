/**
 * The Fastify application as a function of its dependencies: no sockets, no globals, so tests
 * drive it with `app.inject()` on the in-memory backends and the composition root listens.
 *
 * Scopes: the control routes (under `capture.controlPrefix`, '' by default) with, inside them,
 * the ingress route guarded by load shedding; and, in sidecar mode, the capture route that
 * takes every other path with raw bodies.
 *
 * @module
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import underPressure from '@fastify/under-pressure';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { HqmError } from '../core/errors.js';
import { answerClientError, answerFrameworkError } from './client-errors.js';
import { CompletionWaiters } from './completion-waiters.js';
import type { ApiDeps, ApiOptions, RouteContext } from './context.js';
import { registerErrorHandling, sendError } from './error-handler.js';
import { registerJsonParser } from './json-body.js';
import { DepthGate } from './load-shedding.js';
import { registerCaptureRoute } from './routes/capture.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerReadRoutes } from './routes/read.js';
import { registerRoutesTestRoute } from './routes/routes-test.js';
import { registerSubmitRoute } from './routes/submit.js';

export interface BuildApiArgs extends ApiDeps {
  readonly options: ApiOptions;
  readonly logger?: FastifyBaseLogger;
}

export async function buildApi(args: BuildApiArgs): Promise<FastifyInstance> {
  const { options } = args;
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const app = Fastify({
    ...(args.logger === undefined ? { logger: false } : { loggerInstance: args.logger }),
    // One log line per request would cost more than the rest of a submit; metrics count them.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxBodyBytes,
    // A client that stops sending mid-request (slowloris) holds a socket for Node's 300 s
    // otherwise. Only receiving the request is bounded: a long-poll's wait for its answer is not.
    // Node enforces it when it checks its connections (every 30 s by default: every second here),
    // and only while its headers timeout is not the longer of the two.
    requestTimeout,
    http: { connectionsCheckingInterval: Math.min(1000, requestTimeout), headersTimeout: Math.min(60_000, requestTimeout) },
    trustProxy: options.trustProxy,
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

  let closing = false;
  const waiters = new CompletionWaiters(args.store, options.maxWaiters);
  const defaultQueue = [...options.queues.values()][0] ?? '';
  const depthGate = new DepthGate(args.queue, defaultQueue, options.maxQueueDepth);
  const ctx: RouteContext = { ...args, options, waiters, depthGate, closing: () => closing };

  app.addHook('preClose', async () => {
    closing = true;
    waiters.releaseAll();
  });
  app.addHook('onRequest', (_request, _reply, done) => {
    done(closing ? new HqmError('HQM_ERR_SHUTTING_DOWN', 'this process is shutting down; try again (another instance may answer)') : undefined);
  });
  const metrics = args.metrics;
  if (metrics !== undefined) {
    app.addHook('onResponse', (request, reply, done) => {
      metrics.recordApiRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }

  registerErrorHandling(app);
  registerJsonParser(app, { maxDepth: options.maxJsonDepth });
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
      ],
    },
  });

  const prefix = options.capture.controlPrefix;
  await app.register(
    async (control) => {
      if (options.docsEnabled) await control.register(swaggerUi, { routePrefix: '/docs' });
      await control.register(async (ingress) => {
        await guardEventLoop(ingress, options.maxEventLoopDelayMs);
        registerSubmitRoute(ingress, ctx);
      });
      registerReadRoutes(control, ctx);
      registerRoutesTestRoute(control, ctx);
      registerHealthRoutes(control, { ...ctx, self: 'api', version: options.version });
      control.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    },
    { prefix },
  );
  if (options.capture.enabled) {
    await app.register(async (captured) => {
      await guardEventLoop(captured, options.maxEventLoopDelayMs);
      registerCaptureRoute(captured, ctx);
    });
  }
  return app;
}

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

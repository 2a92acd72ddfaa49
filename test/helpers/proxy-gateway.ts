/**
 * API and workers with the real proxy (undici, routing, guards) on the in-memory backends,
 * configured through the real configuration schema.
 */
import { afterEach } from 'vitest';
import { MemoryQueue } from '../../src/adapters/queue/memory/index.js';
import { MemoryResultStore } from '../../src/adapters/result-store/memory/index.js';
import { buildApi } from '../../src/api/build-api.js';
import { createAuth } from '../../src/app/auth.js';
import { apiOptions as apiOptionsOf, partitionSettings } from '../../src/app/options.js';
import { createProxy } from '../../src/app/proxy.js';
import { endpointChecker, routeSimulator, RoutesHolder } from '../../src/app/routes.js';
import { configSchema } from '../../src/config/schema.js';
import { HqmEvents } from '../../src/core/events.js';
import { isTerminal } from '../../src/core/request/lifecycle.js';
import type { RequestRecord } from '../../src/core/request/record.js';
import { silentLogger } from '../../src/ports/logger.js';
import { proxyProcessor } from '../../src/worker/processors/proxy.js';
import { WorkerPool } from '../../src/worker/runner.js';
import { apiOptions, QUEUE } from './api.js';
import { waitFor } from './wait.js';

export interface ProxyGateway {
  readonly app: Awaited<ReturnType<typeof buildApi>>;
  readonly queue: MemoryQueue;
  readonly store: MemoryResultStore;
  readonly events: HqmEvents;
  submit(payload: Record<string, unknown>, extra?: { headers?: Record<string, string>; metadata?: Record<string, unknown> }): Promise<string>;
  finished(id: string, timeoutMs?: number): Promise<RequestRecord>;
}

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((close) => close()));
});

export async function proxyGateway(settings: {
  proxy: Record<string, unknown>;
  worker?: Record<string, unknown>;
  api?: Record<string, unknown>;
  routing?: Record<string, unknown>;
  partitioning?: Record<string, unknown>;
  /** An auth section (turned on): authentication as `openhqm start` builds it. */
  auth?: Record<string, unknown>;
}): Promise<ProxyGateway> {
  const config = configSchema.parse({
    proxy: { enabled: true, ...settings.proxy },
    worker: settings.worker ?? {},
    api: settings.api ?? {},
    routing: settings.routing ?? {},
    partitioning: settings.partitioning ?? {},
    auth: settings.auth === undefined ? {} : { enabled: true, ...settings.auth },
  });
  const auth = createAuth(config.auth, silentLogger);
  const queue = new MemoryQueue(silentLogger);
  const store = new MemoryResultStore();
  const events = new HqmEvents();
  const routes = config.routing.enabled ? await RoutesHolder.load(config.routing, { endpointKnown: endpointChecker(config.proxy) }, silentLogger, events) : undefined;
  const proxy = await createProxy(config.proxy, events, routes === undefined ? undefined : () => routes.current, auth === undefined ? undefined : config.auth.tenant_header);
  const withAuth = auth === undefined ? undefined : apiOptionsOf(config, { auth });
  const app = await buildApi({
    queue,
    store,
    events,
    options: apiOptions({
      endpoints: proxy.endpoints,
      maxQueueDepth: config.api.max_queue_depth,
      trustProxy: config.api.trust_proxy,
      capture: { enabled: config.proxy.capture.enabled, controlPrefix: config.proxy.capture.control_prefix, retryAfterSeconds: config.proxy.capture.retry_after_seconds },
      simulateRoutes: routeSimulator(config, routes),
      partitioning: config.partitioning.enabled ? partitionSettings(config.partitioning) : undefined,
      ...(withAuth === undefined ? {} : { auth: withAuth.auth, capture: withAuth.capture, tenantRate: withAuth.tenantRate }),
    }),
  });
  const pool = new WorkerPool(
    { queue, store, events, processor: proxyProcessor(proxy.forwarder), logger: silentLogger },
    {
      queueName: QUEUE,
      concurrency: config.worker.count,
      visibilityTimeoutMs: 30_000,
      shutdownGraceMs: 2_000,
      workerId: 'proxy-test',
      retry: { maxAttempts: config.worker.max_retries + 1, baseMs: config.worker.retry_delay_base * 1000, maxMs: config.worker.retry_delay_max * 1000 },
      defaultTimeoutSeconds: config.worker.timeout_seconds,
      ttlMs: 3_600_000,
    },
  );
  pool.start();
  open.push(async () => {
    routes?.close();
    await app.close();
    await pool.stop();
    await proxy.http.close();
    await queue.close();
    await store.close();
    auth?.close();
  });
  return {
    app,
    queue,
    store,
    events,
    async submit(payload, extra = {}) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload, headers: extra.headers, metadata: extra.metadata } });
      if (res.statusCode !== 202) throw new Error(`submit answered ${res.statusCode}: ${res.body}`);
      return res.json<{ correlation_id: string }>().correlation_id;
    },
    async finished(id, timeoutMs = 15_000) {
      return waitFor(
        async () => {
          const record = await store.get(id);
          return record !== undefined && isTerminal(record.status) ? record : undefined;
        },
        { timeoutMs, what: `request ${id} to finish` },
      );
    },
  };
}

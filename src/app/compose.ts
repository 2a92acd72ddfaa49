/**
 * The composition root: configuration → backends → worker pool and API → a running process,
 * and the documented shutdown order: (1) stop accepting HTTP, (2) stop consuming, (3) drain
 * in-flight work within the grace period, (4) flush results, (5) close the backends.
 *
 * @module
 */
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../api/build-api.js';
import { buildProbes } from '../api/build-probes.js';
import type { Config } from '../config/schema.js';
import { HqmEvents } from '../core/events.js';
import type { PinoLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import type { QueueBackend } from '../ports/queue-backend.js';
import type { ResultStore } from '../ports/result-store.js';
import type { Processor } from '../worker/processor.js';
import { builtinProcessor } from '../worker/processors/builtin.js';
import { proxyProcessor } from '../worker/processors/proxy.js';
import { loadProcessorModule } from '../worker/processors/load-module.js';
import { WorkerPool } from '../worker/runner.js';
import { createAuth, type AppAuth } from './auth.js';
import { checkCapabilities, createQueue, createStore, type Roles } from './backends.js';
import { createProxy, type Proxy } from './proxy.js';
import { apiOptions, workerOptions } from './options.js';
import { RoutesHolder, startupCompileOptions } from './routes.js';
import { exposureWarning, readTls } from './security.js';
import { VERSION } from './version.js';

export interface RunningApp {
  /** Where the API listens, or a worker-only process its health and metrics (monitoring.metrics_port); else undefined. */
  readonly url: string | undefined;
  readonly api: FastifyInstance | undefined;
  readonly worker: WorkerPool | undefined;
  /** Graceful shutdown in the documented order. Idempotent. */
  readonly stop: () => Promise<void>;
}

export async function startApp(config: Config, roles: Roles, logger: PinoLogger): Promise<RunningApp> {
  const workerId = config.worker.id ?? `${hostname()}-${process.pid}`;
  const events = new HqmEvents();
  const metrics = config.monitoring.metrics_enabled ? new Metrics() : undefined;
  // Before anything connects: a broken keys file or certificate is refused like a bad config.
  const tls = roles.api ? readTls(config.server.tls) : undefined;
  const auth: AppAuth | undefined = createAuth(config.auth, logger.child({ component: 'auth' }));
  metrics?.observe(events, workerId, { tenantLabel: auth?.tenantLabel });
  const context = { logger };

  let queue: QueueBackend | undefined;
  let store: ResultStore | undefined;
  let api: FastifyInstance | undefined;
  let worker: WorkerPool | undefined;
  let probes: FastifyInstance | undefined;
  let closing = false;
  let proxy: Proxy | undefined;
  let routes: RoutesHolder | undefined;
  const closeBackends = async (): Promise<void> => {
    auth?.close();
    routes?.close();
    await proxy?.http.close();
    await store?.close();
    await queue?.close();
  };

  try {
    // Routes first: a broken routes file is refused before anything connects, as config check refuses it.
    if (config.routing.enabled) {
      routes = await RoutesHolder.load(config.routing, startupCompileOptions(config.proxy), logger.child({ component: 'routing' }), events);
    }
    queue = await createQueue(config, context);
    store = await createStore(config, context);
    checkCapabilities(config, roles, queue, store);
    const queueName = config.queue.request_queue_name;
    const liveQueue = queue;
    metrics?.trackQueue(queueName, () => liveQueue.stats(queueName));

    const routing = routes;
    const tenantHeader = config.auth.enabled ? config.auth.tenant_header : undefined;
    if (config.proxy.enabled) proxy = await createProxy(config.proxy, events, routing === undefined ? undefined : () => routing.current, tenantHeader);

    if (roles.worker) {
      const processor = await chooseProcessor(config, proxy);
      worker = new WorkerPool({ queue, store, processor, events, logger: logger.child({ component: 'worker' }) }, workerOptions(config, workerId));
    }

    let url: string | undefined;
    const pool = worker;
    const components = pool === undefined ? undefined : async () => ({ worker: { ok: pool.state === 'running', detail: pool.state } });
    if (roles.api) {
      api = await buildApi({ queue, store, events, metrics, logger, components, options: apiOptions(config, { proxy, routes, auth, tls }) });
      url = await api.listen({ host: config.server.host, port: config.server.port });
      const warning = exposureWarning(config);
      if (warning !== undefined) logger.warn({ host: config.server.host }, warning);
    } else if (config.monitoring.metrics_port > 0) {
      // A worker-only process: its heartbeat and counters are visible, and its pod can be probed.
      probes = buildProbes({ queue, store, metrics, components, closing: () => closing, version: VERSION }, logger, auth?.api);
      url = await probes.listen({ host: config.server.host, port: config.monitoring.metrics_port });
    }
    // Only once the port is ours: a start-up that fails on listen has taken no message.
    worker?.start();

    logger.info(
      { version: VERSION, url, roles: Object.entries(roles).flatMap(([r, on]) => (on ? [r] : [])), queue: queue.type, store: store.type, worker_id: workerId },
      roles.api ? `OpenHQM listening on ${url ?? ''}` : url === undefined ? 'OpenHQM worker running' : `OpenHQM worker running; health and metrics on ${url}`,
    );

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        logger.info({}, 'shutting down');
        closing = true;
        // Each step runs even when an earlier one failed: the backends are always closed.
        try {
          await api?.close(); // (1) no new HTTP requests; in-flight ones finish
        } finally {
          try {
            await worker?.stop(); // (2) stop consuming, (3) drain or release in-flight work
          } finally {
            await probes?.close().catch(() => undefined); // Probes answer (unready) while the worker drains.
            await closeBackends(); // (4) flush pending writes, (5) close connections
          }
        }
        logger.info({}, 'shutdown complete');
      })();
      return stopping;
    };
    return { url, api, worker, stop };
  } catch (error) {
    await api?.close().catch(() => undefined);
    await probes?.close().catch(() => undefined);
    await worker?.stop().catch(() => undefined);
    await closeBackends().catch(() => undefined);
    throw error;
  }
}

/** The proxy when it is enabled, else the user's module, else the built-in operations. */
async function chooseProcessor(config: Config, proxy: Proxy | undefined): Promise<Processor> {
  if (proxy !== undefined) return proxyProcessor(proxy.forwarder);
  const module = config.worker.processor_module;
  return module === null ? builtinProcessor : loadProcessorModule(module);
}

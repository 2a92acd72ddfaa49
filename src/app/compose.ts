/**
 * The composition root: configuration → backends → worker pool and API → a running process,
 * and the documented shutdown order: (1) stop accepting new work (submits and captures answer
 * 503 with Retry-After, /health/ready 503, while the listener stays open for probes and reads),
 * (2) stop consuming, (3) drain in-flight work within the grace period, (4) close the HTTP
 * listener, (5) flush results and close the backends. Every step runs even when an earlier one
 * failed (closeInTurn), so a close that rejects never leaves the rest open.
 *
 * @module
 */
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../api/build-api.js';
import { buildProbes } from '../api/build-probes.js';
import type { Config } from '../config/schema.js';
import type { TracingSettings } from '../config/tracing.js';
import { HqmEvents } from '../core/events.js';
import type { PinoLogger } from '../observability/logger.js';
import type { AnalyticsRecorder } from '../observability/analytics.js';
import { dashboardPlugin } from '../dashboard/plugin.js';
import { Metrics } from '../observability/metrics.js';
import type { QueueBackend } from '../ports/queue-backend.js';
import type { ResultStore } from '../ports/result-store.js';
import type { Processor } from '../worker/processor.js';
import { builtinOperations } from '../worker/processors/builtin.js';
import { proxyProcessor } from '../worker/processors/proxy.js';
import { loadProcessorModule } from '../worker/processors/load-module.js';
import { WorkerPool } from '../worker/runner.js';
import { startAnalytics } from './analytics.js';
import { createAuth, type AppAuth } from './auth.js';
import { checkCapabilities, createFused, createQueue, createStore, type Roles } from './backends.js';
import { followUpSubmitter } from './follow-ups.js';
import { createProxy, type Proxy } from './proxy.js';
import { closeInTurn, type ShutdownStep } from './shutdown.js';
import { apiOptions, workerOptions } from './options.js';
import { configuredQueues } from './queues.js';
import { RoutesHolder, startupCompileOptions } from './routes.js';
import { exposureWarning, readTls } from './security.js';
import { VERSION } from './version.js';
import { startTracingFor, type AppTracing } from './tracing.js';
import { createWebhooks, webhookQueue, type Webhooks } from './webhooks.js';

export interface RunningApp {
  /** Where the API listens, or a worker-only process its health and metrics (monitoring.metrics_port); else undefined. */
  readonly url: string | undefined;
  readonly api: FastifyInstance | undefined;
  readonly worker: WorkerPool | undefined;
  /** Graceful shutdown in the documented order. Idempotent. */
  readonly stop: () => Promise<void>;
}

/** What a caller may add to the app as it is built: a cluster member makes /metrics answer for every process (D151). */
export interface StartHooks {
  readonly onMetrics?: (metrics: Metrics) => void;
  /** Tracing, from the OTEL_* variables (LoadedConfig.tracing); off when absent. */
  readonly tracing?: TracingSettings;
}

export async function startApp(config: Config, roles: Roles, logger: PinoLogger, hooks: StartHooks = {}): Promise<RunningApp> {
  const workerId = config.worker.id ?? `${hostname()}-${process.pid}`;
  const events = new HqmEvents();
  const metrics = config.monitoring.metrics_enabled ? new Metrics() : undefined;
  if (metrics !== undefined) hooks.onMetrics?.(metrics);
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
  let analytics: AnalyticsRecorder | undefined;
  let webhooks: Webhooks | undefined;
  let traced: AppTracing | undefined;
  // Read when the shutdown runs, so whatever start-up got as far as opening is closed.
  const backendSteps = (): ShutdownStep[] => [
    { name: 'stop watching the API keys file', run: () => auth?.close() },
    { name: 'stop watching the routes file', run: () => routes?.close() },
    { name: 'close the proxy HTTP client', run: () => proxy?.http.close() },
    // Before the store closes: the last second of counts (the drained work's) is written.
    { name: 'write the last analytics', run: () => analytics?.close() },
    { name: 'close the webhook HTTP client', run: () => webhooks?.sender.close() },
    { name: 'close the result store', run: () => store?.close() },
    { name: 'close the queue', run: () => queue?.close() },
    // Last: every span has ended by now (the drained attempts', the closed listener's).
    { name: 'export the last spans', run: () => traced?.shutdown() },
  ];

  try {
    traced = await startTracingFor(hooks.tracing, { events, logger, instanceId: workerId });
    const tracing = traced?.tracing;
    // Routes first: a broken routes file is refused before anything connects, as config check refuses it.
    if (config.routing.enabled) {
      routes = await RoutesHolder.load(config.routing, startupCompileOptions(config), logger.child({ component: 'routing' }), events);
    }
    queue = await createQueue(config, context);
    store = await createStore(config, context);
    checkCapabilities(config, roles, queue, store);
    const fused = await createFused(config, queue, store, context);
    analytics = startAnalytics(config, events, store, logger.child({ component: 'analytics' }));
    const liveQueue = queue;
    for (const { backendQueue } of configuredQueues(config)) metrics?.trackQueue(backendQueue, () => liveQueue.stats(backendQueue));
    // Webhook deliveries waiting and failed for good show as a queue of their own.
    if (config.delivery.webhooks.secret.length > 0) {
      const hooks = webhookQueue(config);
      metrics?.trackQueue(hooks, () => liveQueue.stats(hooks));
    }

    const routing = routes;
    const tenantHeader = config.auth.enabled ? config.auth.tenant_header : undefined;
    if (config.proxy.enabled) proxy = await createProxy(config.proxy, events, routing === undefined ? undefined : () => routing.current, tenantHeader, tracing);

    if (roles.worker) {
      const processor = await chooseProcessor(config, proxy);
      // Configured, or made once and kept in the queue's backend: every worker of the deployment agrees.
      const idSecret = config.queue.id_secret ?? (await queue.deploymentSecret());
      // Follow-ups (metadata.then) are checked and submitted as the API would: same options, same path.
      const followUps = followUpSubmitter({ queue, store, fused, events, tracing }, apiOptions(config, { proxy, routes }));
      webhooks = await createWebhooks(config, { queue, store, logger, tracing });
      const onTerminal = webhooks?.enqueuer.onTerminal;
      worker = new WorkerPool(
        { queue, store, fused, processor, events, logger: logger.child({ component: 'worker' }), followUps, tracing },
        { ...workerOptions(config, workerId), idSecret, ...(onTerminal === undefined ? {} : { onTerminal, onTerminalWants: webhooks?.enqueuer.wants }) },
      );
    }

    let url: string | undefined;
    const pool = worker;
    const components = pool === undefined ? undefined : async () => ({ worker: { ok: pool.state === 'running', detail: pool.state } });
    if (roles.api) {
      const dashboard = config.api.dashboard_enabled ? dashboardPlugin() : undefined;
      api = await buildApi({ queue, store, fused, events, metrics, tracing, logger, components, dashboard, closing: () => closing, options: apiOptions(config, { proxy, routes, auth, tls }) });
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
    webhooks?.deliverer.start();

    logger.info(
      { version: VERSION, url, roles: Object.entries(roles).flatMap(([r, on]) => (on ? [r] : [])), queue: queue.type, store: store.type, worker_id: workerId },
      roles.api ? `OpenHQM listening on ${url ?? ''}` : url === undefined ? 'OpenHQM worker running' : `OpenHQM worker running; health and metrics on ${url}`,
    );

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        logger.info({}, 'shutting down');
        closing = true; // (1) new work is refused and /health/ready says 503; the listener stays open
        await closeInTurn(
          [
            { name: 'stop the worker pool', run: () => worker?.stop() }, // (2) stop consuming, (3) drain or release in-flight work
            { name: 'stop the webhook deliverer', run: () => webhooks?.deliverer.stop() }, // after the pool: its last terminal records enqueue webhooks
            { name: 'close the HTTP listener', run: () => api?.close() }, // (4) in-flight HTTP requests finish, long-polls are answered
            { name: 'close the probe listener', run: () => probes?.close() },
            ...backendSteps(), // (5) flush pending writes, close connections
          ],
          logger,
        );
        logger.info({}, 'shutdown complete');
      })();
      return stopping;
    };
    return { url, api, worker, stop };
  } catch (error) {
    closing = true;
    const steps: ShutdownStep[] = [
      { name: 'close the HTTP listener', run: () => api?.close() },
      { name: 'close the probe listener', run: () => probes?.close() },
      { name: 'stop the worker pool', run: () => worker?.stop() },
      { name: 'stop the webhook deliverer', run: () => webhooks?.deliverer.stop() },
      ...backendSteps(),
    ];
    // Each failure is logged by closeInTurn; the start-up error is the one to report.
    await closeInTurn(steps, logger).catch(() => undefined);
    throw error;
  }
}

/** The proxy when it is enabled, else the user's module, else the built-in operations. */
async function chooseProcessor(config: Config, proxy: Proxy | undefined): Promise<Processor> {
  if (proxy !== undefined) return proxyProcessor(proxy.forwarder);
  const module = config.worker.processor_module;
  return module === null ? builtinOperations({ sleepMaxSeconds: config.worker.builtin_sleep_max_seconds }) : loadProcessorModule(module);
}

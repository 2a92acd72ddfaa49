/**
 * Every Prometheus metric, defined in one place. Names follow the original project (so its
 * dashboards keep working) and labels stay bounded: queue names, outcomes, routes — never ids.
 * Metrics are fed by the typed events the API and the worker emit, not by calls in the hot path.
 * Those updated per request or per delivery are tallies (./tally.ts): a labelled series is found
 * once and kept, and an update is an addition, with no label set built or hashed (D190).
 *
 * @module
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HqmEvents } from '../core/events.js';
import { CounterTally, HistogramTally, type CounterSeries, type HistogramSeries, type RegistryMetric } from './tally.js';

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** What trackQueue reads (the QueueStats of the port, which this module does not import). */
interface TrackedStats {
  readonly depth: number;
  readonly delayed?: number;
  readonly inFlight: number;
  readonly deadLettered: number;
  readonly oldestReadyAt?: number | null;
}

interface ApiSeries {
  readonly count: CounterSeries;
  readonly duration: HistogramSeries;
}

/** How long one queue stats() answer serves scrapes: a burst of scrapers costs the backend one count. */
const STATS_REUSE_MS = 1000;

export class Metrics {
  readonly registry = new Registry();

  readonly apiRequests = this.#tally(new CounterTally('openhqm_api_requests_total', 'HTTP requests answered, by method, route and status code', ['method', 'endpoint', 'status']));

  readonly apiDuration = this.#tally(
    new HistogramTally('openhqm_api_request_duration_seconds', 'Time to answer an HTTP request', ['method', 'endpoint'], [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30]),
  );

  readonly queuePublish = this.#tally(new CounterTally('openhqm_queue_publish_total', 'Messages published to the queue, by outcome', ['queue_name', 'status']));

  readonly queueConsume = this.#tally(new CounterTally('openhqm_queue_consume_total', 'Deliveries received by this process', ['queue_name']));

  readonly queueDlq = new Counter({
    name: 'openhqm_queue_dlq_total',
    help: 'Messages moved to the dead-letter store, by queue and reason (processing_failed, attempts_exhausted, invalid_message, no_record)',
    labelNames: ['queue_name', 'reason'] as const,
    registers: [this.registry],
  });

  /** Requests in progress by worker, as the last worker:busy event told: read at scrape time, not set per event. */
  #active: { readonly workerId: string; count: number } | undefined;

  readonly workerActive = new Gauge({
    name: 'openhqm_worker_active',
    help: 'Requests being processed right now by this worker process',
    labelNames: ['worker_id'] as const,
    registers: [this.registry],
    collect: (): void => {
      if (this.#active !== undefined) this.workerActive.set({ worker_id: this.#active.workerId }, this.#active.count);
    },
  });

  readonly workerHeartbeat = new Gauge({
    name: 'openhqm_worker_heartbeat_timestamp_seconds',
    help: 'Last time this worker process proved it is alive (a stale value means a stuck worker)',
    labelNames: ['worker_id'] as const,
    registers: [this.registry],
  });

  readonly workerDuration = this.#tally(new HistogramTally('openhqm_worker_processing_duration_seconds', 'Time a worker spent on one attempt, by outcome', ['status'], DURATION_BUCKETS));

  readonly workerErrors = this.#tally(new CounterTally('openhqm_worker_errors_total', 'Failed attempts, by kind', ['error_type']));

  readonly proxyRequests = new Counter({
    name: 'openhqm_proxy_requests_total',
    help: 'Upstream calls by endpoint and outcome (the HTTP status, or the error code when there was no answer)',
    labelNames: ['endpoint', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly proxyDuration = new Histogram({
    name: 'openhqm_proxy_request_duration_seconds',
    help: 'Time of one upstream call',
    labelNames: ['endpoint'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });

  readonly proxyCircuit = new Gauge({
    name: 'openhqm_proxy_circuit_state',
    help: 'Circuit breaker of an endpoint in this worker process: 0 closed, 0.5 half-open, 1 open',
    labelNames: ['endpoint'] as const,
    // Gathered over the processes of one command (D151): the most open circuit, not a sum.
    aggregator: 'max',
    registers: [this.registry],
  });

  readonly workerDeferred = new Counter({
    name: 'openhqm_worker_deferred_total',
    help: 'Requests handed back to the queue without counting an attempt (open circuit, rate limit)',
    registers: [this.registry],
  });

  readonly tenantRequests = this.#tally(
    new CounterTally(
      'openhqm_tenant_requests_total',
      'Requests by tenant (auth.enabled) and outcome (submitted, completed, failed, timeout, cancelled); tenants not configured count as "other", requests without one as "none"',
      ['tenant', 'outcome'],
    ),
  );

  readonly queueFinished = this.#tally(
    new CounterTally('openhqm_queue_finished_total', 'Requests this process finished, by queue and outcome (completed, failed, timeout); sum rate() over processes for a deployment', ['queue_name', 'outcome']),
  );

  /** The series of each answered route: endpoint → method → status (no key is built per request). */
  readonly #apiSeries = new Map<string, Map<string, Map<number, ApiSeries>>>();

  /** Counts one answered HTTP request; `endpoint` is the route pattern, never the raw URL. */
  recordApiRequest(method: string, endpoint: string, status: number, seconds: number): void {
    let byMethod = this.#apiSeries.get(endpoint);
    if (byMethod === undefined) this.#apiSeries.set(endpoint, (byMethod = new Map<string, Map<number, ApiSeries>>()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map<number, ApiSeries>()));
    let series = byStatus.get(status);
    if (series === undefined) {
      series = { count: this.apiRequests.series({ method, endpoint, status: String(status) }), duration: this.apiDuration.series({ method, endpoint }) };
      byStatus.set(status, series);
    }
    series.count.inc();
    series.duration.observe(seconds);
  }

  #tally<T extends RegistryMetric>(metric: T): T {
    // prom-client's registry takes any object of its metric's shape (get, reset, name, help, type).
    this.registry.registerMetric(metric as unknown as Counter);
    return metric;
  }

  #liveStreams: (() => number) | undefined;

  /**
   * Reports `count()` as openhqm_api_live_streams: SSE streams and WebSocket connections open
   * in this process (api.max_streams bounds them). A later call replaces the count.
   */
  watchLiveStreams(count: () => number): void {
    if (this.#liveStreams === undefined) {
      const read = (): number => this.#liveStreams?.() ?? 0;
      new Gauge({
        name: 'openhqm_api_live_streams',
        help: 'Live SSE streams and WebSocket connections open in this API process (bounded by api.max_streams)',
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    }
    this.#liveStreams = count;
  }

  #backends: (() => Promise<Readonly<Record<string, boolean>>>) | undefined;

  /**
   * Reports `read()` as openhqm_backend_up{component}: 1 while a backend (queue, cache) answers
   * its health check, 0 while it does not — the readiness probe's verdict, which a scrape would
   * otherwise not show (the queue gauges keep their last value when the backend is down). Read
   * at scrape time; a later call replaces the reader.
   */
  watchBackends(read: () => Promise<Readonly<Record<string, boolean>>>): void {
    if (this.#backends === undefined) {
      const backends = (): Promise<Readonly<Record<string, boolean>>> => this.#backends?.() ?? Promise.resolve({});
      new Gauge({
        name: 'openhqm_backend_up',
        help: 'Whether a backend this process uses answers its health check (1) or not (0), by component (queue, cache)',
        labelNames: ['component'] as const,
        // Gathered over the processes of one command (D151): one process that cannot reach it is enough.
        aggregator: 'min',
        registers: [this.registry],
        async collect() {
          for (const [component, ok] of Object.entries(await backends())) this.set({ component }, ok ? 1 : 0);
        },
      });
    }
    this.#backends = read;
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  #render: (() => Promise<string>) | undefined;

  /** What GET /metrics answers: this process's registry, or what renderWith gave (every process of a cluster, D151). */
  text(): Promise<string> {
    return this.#render?.() ?? this.registry.metrics();
  }

  /** Makes GET /metrics answer with `render` (same content type) instead of this process's registry alone. */
  renderWith(render: () => Promise<string>): void {
    this.#render = render;
  }

  /** Per queue tracked: its stats, one backend call shared by every gauge of one scrape. */
  readonly #queueStats = new Map<string, () => Promise<TrackedStats | undefined>>();

  /**
   * Reports a queue's depth, delayed, in-flight and dead-letter counts and the age of its oldest
   * ready message, read from the backend at scrape time. Called once per queue (named queues, D105).
   */
  trackQueue(queueName: string, stats: () => Promise<TrackedStats>): void {
    let shared: { at: number; value: Promise<TrackedStats | undefined> } | undefined;
    this.#queueStats.set(queueName, () => {
      const now = Date.now();
      if (shared === undefined || now - shared.at > STATS_REUSE_MS) {
        // A failure reads as undefined: /health says the backend is down; the gauges keep their last value.
        shared = { at: now, value: stats().catch(() => undefined) };
      }
      return shared.value;
    });
    if (this.#queueStats.size > 1) return; // The gauges exist; they read every tracked queue.
    const queues = this.#queueStats;
    const gauge = (name: string, help: string, value: (s: TrackedStats, now: number) => number | undefined): void => {
      new Gauge({
        name,
        help,
        labelNames: ['queue_name'] as const,
        // Every process reads the same shared queue: gathered over processes (D151) it is one value, not N times it.
        aggregator: 'max',
        registers: [this.registry],
        async collect() {
          const now = Date.now();
          await Promise.all(
            [...queues].map(async ([queue, read]) => {
              const s = await read();
              const v = s === undefined ? undefined : value(s, now);
              if (v !== undefined) this.set({ queue_name: queue }, v);
            }),
          );
        },
      });
    };
    gauge('openhqm_queue_depth', 'Messages waiting in the queue (ready and delayed)', (s) => s.depth);
    gauge('openhqm_queue_in_flight', 'Messages delivered and not yet settled', (s) => s.inFlight);
    gauge('openhqm_queue_dead_letters', 'Messages held in the dead-letter store', (s) => s.deadLettered);
    gauge('openhqm_queue_delayed', 'Waiting messages not due yet (delayed publishes, retries in back-off)', (s) => s.delayed);
    gauge('openhqm_queue_oldest_ready_age_seconds', 'How long the message waiting longest for a worker has been ready (0: none)', (s, now) =>
      s.oldestReadyAt === undefined ? undefined : s.oldestReadyAt === null ? 0 : Math.max(0, now - s.oldestReadyAt) / 1000,
    );
  }

  /**
   * Turns the request and worker events into metrics. `tenantLabel` (with authentication on)
   * names the label of a tenant: a bounded set, whatever tenants tokens may claim.
   */
  observe(events: HqmEvents, workerId: string, options: { tenantLabel?: (tenant: string | null) => string } = {}): void {
    const tenantLabel = options.tenantLabel;
    if (tenantLabel !== undefined) {
      const tenants = memo((key: string) => {
        const [tenant = '', outcome = ''] = key.split('\0');
        return this.tenantRequests.series({ tenant, outcome });
      });
      const count = (outcome: string) => ({ tenant }: { tenant?: string | null }) => tenants(`${tenantLabel(tenant ?? null)}\0${outcome}`).inc();
      events.on('request:submitted', count('submitted'));
      events.on('request:completed', count('completed'));
      events.on('request:failed', count('failed'));
      events.on('request:timeout', count('timeout'));
      events.on('request:cancelled', count('cancelled'));
    }
    // Hot paths (one call per request) keep their series: finding one costs a key.
    const published = memo((queue: string) => this.queuePublish.series({ queue_name: queue, status: 'success' }));
    const consumed = memo((queue: string) => this.queueConsume.series({ queue_name: queue }));
    // Series appear with their first update, as prom-client's do: none is shown at 0 before.
    let succeeded: HistogramSeries | undefined;
    events.on('request:submitted', ({ queue }) => published(queue).inc());
    // A replay publishes the message again (it is no new submission).
    events.on('request:replayed', ({ queue }) => published(queue).inc());
    events.on('request:publish_failed', ({ queue }) => this.queuePublish.series({ queue_name: queue, status: 'failed' }).inc());
    events.on('delivery:received', ({ queue }) => consumed(queue).inc());
    events.on('request:completed', ({ durationMs }) => (succeeded ??= this.workerDuration.series({ status: 'success' })).observe(durationMs / 1000));
    const finished = memo((key: string) => {
      const [queue = '', outcome = ''] = key.split('\0');
      return this.queueFinished.series({ queue_name: queue, outcome });
    });
    events.on('request:completed', ({ queue }) => finished(`${queue}\0completed`).inc());
    events.on('request:failed', ({ queue }) => finished(`${queue}\0failed`).inc());
    events.on('request:timeout', ({ queue }) => finished(`${queue}\0timeout`).inc());
    const failure = (status: string, errorType: string) => {
      let series: { duration: HistogramSeries; error: CounterSeries } | undefined;
      return ({ durationMs }: { durationMs: number }): void => {
        series ??= { duration: this.workerDuration.series({ status }), error: this.workerErrors.series({ error_type: errorType }) };
        series.duration.observe(durationMs / 1000);
        series.error.inc();
      };
    };
    events.on('request:retrying', failure('retry', 'retryable'));
    events.on('request:failed', failure('failed', 'fatal'));
    events.on('request:timeout', failure('timeout', 'timeout'));
    events.on('request:dead_lettered', ({ queue, reason }) => this.queueDlq.inc({ queue_name: queue, reason }));
    events.on('worker:busy', ({ active }) => {
      this.#active ??= { workerId, count: 0 };
      this.#active.count = active;
    });
    events.on('worker:heartbeat', ({ at }) => this.workerHeartbeat.set({ worker_id: workerId }, at / 1000));
    events.on('request:deferred', () => this.workerDeferred.inc());
    // An endpoint's circuit reads closed (0) from its first call, not only after a first change.
    const circuitKnown = new Set<string>();
    const knowCircuit = (endpoint: string): string => {
      const label = endpointLabel(endpoint);
      if (circuitKnown.has(label)) return label;
      circuitKnown.add(label);
      this.proxyCircuit.set({ endpoint: label }, 0);
      return label;
    };
    events.on('upstream:response', ({ endpoint, status, durationMs }) => {
      const label = knowCircuit(endpoint);
      this.proxyRequests.inc({ endpoint: label, outcome: String(status) });
      this.proxyDuration.observe({ endpoint: label }, durationMs / 1000);
    });
    events.on('upstream:error', ({ endpoint, code, durationMs }) => {
      const label = knowCircuit(endpoint);
      this.proxyRequests.inc({ endpoint: label, outcome: code });
      this.proxyDuration.observe({ endpoint: label }, durationMs / 1000);
    });
    events.on('circuit:changed', ({ endpoint, state }) => {
      const label = endpointLabel(endpoint);
      circuitKnown.add(label);
      this.proxyCircuit.set({ endpoint: label }, state === 'open' ? 1 : state === 'half_open' ? 0.5 : 0);
    });
  }
}

/**
 * An endpoint as a label: its configured name, or for a URL its origin only — userinfo, path
 * and query could carry credentials and would make the label set unbounded. The proxy already
 * names URL endpoints so; this holds for any emitter.
 */
export function endpointLabel(endpoint: string): string {
  if (!endpoint.includes('://')) return endpoint;
  try {
    const origin = new URL(endpoint).origin;
    return origin === 'null' ? 'invalid-url' : origin;
  } catch {
    return 'invalid-url';
  }
}

/** One value per key, made on first use (label values are a small, bounded set). */
function memo<T>(make: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    let value = cache.get(key);
    if (value === undefined) {
      value = make(key);
      cache.set(key, value);
    }
    return value;
  };
}

/** What the API routes need, handed in by the composition root. */
import type { FastifyPluginAsync } from 'fastify';
import type { HqmEvents } from '../core/events.js';
import type { ErrorCode } from '../core/errors.js';
import type { PartitionSettings } from '../core/partition.js';
import type { RateWindow } from '../core/request/tenant-rate.js';
import type { TrustFunction, TrustProxy } from '../core/trust.js';

import type { Metrics } from '../observability/metrics.js';
import type { FusedBackend } from '../ports/fused.js';
import type { HealthReport } from '../ports/health.js';
import type { QueueBackend } from '../ports/queue-backend.js';
import type { ResultStore } from '../ports/result-store.js';
import type { Tracing } from '../ports/tracing.js';
import type { CompletionWaiters } from './completion-waiters.js';
import type { ApiAuth } from './auth.js';
import type { DepthGates } from './load-shedding.js';
import type { CallbackRules } from '../webhooks/callback.js';
import type { StreamOptions } from './streams/options.js';
import type { StreamHub } from './streams/stream-hub.js';

export interface ApiOptions {
  /** Logical queue names clients may ask for (metadata.queue) → backend queue names. */
  readonly queues: ReadonlyMap<string, string>;
  readonly defaultTimeoutSeconds: number;
  /** The named queues with their shares (GET /api/v1/queues); from `queues` with weight 1 when unset. */
  readonly queueShares?: readonly QueueListing[];
  /**
   * The queue of the route a submission matches (a route's `queue`), asked when the client names
   * no metadata.queue; undefined without routing. Matching only: no transform runs.
   */
  readonly routeQueue?: (submission: { readonly payload: unknown; readonly headers: unknown; readonly metadata: unknown; readonly request: unknown }) => Promise<string | null>;
  /** A queue's own default deadline (queues.<name>.timeout_seconds); defaultTimeoutSeconds for the others. */
  readonly queueTimeouts?: ReadonlyMap<string, number>;
  readonly ttlMs: number;
  readonly maxBodyBytes: number;
  readonly maxJsonDepth: number;
  readonly maxWaitSeconds: number;
  /** Most long-polls waiting at once (`api.max_waiters`); past it a wait answers at once. 10,000 when unset. */
  readonly maxWaiters?: number;
  readonly docsEnabled: boolean;
  /** Peers trusted to speak for the client (api.trust_proxy): true, false, a hop count, or addresses/CIDRs. */
  readonly trustProxy: TrustProxy;
  readonly version: string;
  /** Names of proxy.endpoints a request may name in metadata.endpoint; undefined when the proxy is off. */
  readonly endpoints?: { has(name: string): boolean; readonly names: readonly string[] };
  /** Submits are refused with 503 above this many waiting messages; 0: never. */
  readonly maxQueueDepth: number;
  /** The API answers 503 while the event loop lags more than this; 0: never. */
  readonly maxEventLoopDelayMs: number;
  /** How long a client may take to send a whole request (headers and body) before a 408; 30 s when unset. */
  readonly requestTimeoutMs?: number;
  readonly capture: CaptureOptions;
  /** When set, requests with the same partition key are queued to be processed in order. */
  readonly partitioning?: PartitionSettings;
  /** worker.builtin_sleep_max_seconds when the workers run the built-in operations, so a longer sleep is refused at submit. */
  readonly builtinSleepMaxSeconds?: number;
  /** Runs the route simulator for POST /api/v1/routes/test (given routes, or the ones in force). */
  readonly simulateRoutes?: RouteSimulator;
  /** auth.enabled: who may call what (api/auth.ts); undefined: every route is open. */
  readonly auth?: ApiAuth;
  /** How long an Idempotency-Key is remembered (api.idempotency_ttl_seconds, at most the record TTL); ttlMs when unset. */
  readonly idempotencyTtlMs?: number;
  /** POST /api/v1/submit/batch: most requests in one batch (api.max_batch); 1,000 when unset. */
  readonly maxBatch?: number;
  /** POST /api/v1/submit/batch: largest body (api.max_batch_body_bytes); 16 MiB when unset. */
  readonly maxBatchBodyBytes?: number;
  /** Furthest ahead metadata.delay / metadata.run_at may put a request (api.max_delay_seconds); 30 days when unset. */
  readonly maxDelaySeconds?: number;
  /** GET /api/v1/stats answers nothing older than this (analytics.retention_days); 30 days when unset. */
  readonly analyticsRetentionMs?: number;
  /** server.tls: serve HTTPS with this certificate and key (PEM). */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** Per-tenant submit rate (auth.tenants.<t>.rate_per_second); undefined: no tenant is limited. */
  readonly tenantRate?: TenantRateOptions;
  /** Live streams (SSE on /requests/{id}/events, WebSocket on /ws); the defaults of streams/options.ts when unset. */
  readonly streams?: Partial<StreamOptions>;
  /** delivery.webhooks: callback checks at submit and the failed-deliveries routes; undefined: neither (tests). */
  readonly webhooks?: WebhookApiOptions;
}

export interface WebhookApiOptions extends CallbackRules {
  /** The webhook queue (`<queue.request_queue_name>.webhooks`). */
  readonly queueName: string;
  /** Most dead letters read to list a page (queue.dead_letter_max). */
  readonly scanLimit: number;
}

export interface QueueListing {
  readonly name: string;
  readonly backendQueue: string;
  readonly weight: number;
  readonly concurrency: number | null;
}

export interface TenantRateOptions {
  /** The window of a tenant; null: that tenant is not limited. */
  readonly windowOf: (tenant: string) => RateWindow | null;
}

/** Routes a message as a worker would, without sending it; `routes` replaces the ones in force. */
export type RouteSimulator = (input: { readonly routes?: unknown; readonly message: unknown }) => Promise<SimulationOutcome>;

export type SimulationOutcome =
  | { readonly ok: true; readonly result: Readonly<Record<string, unknown>>; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly error: string; readonly code: ErrorCode };

export interface CaptureOptions {
  readonly enabled: boolean;
  /** Prefix of the control paths (/api/v1, /health, /metrics, /docs, /openapi.json); '' by default. */
  readonly controlPrefix: string;
  readonly retryAfterSeconds: number;
  /**
   * Headers that may carry an OpenHQM credential but are listed by name in proxy.forward_headers:
   * kept on captured requests that authenticated with them (dropped otherwise).
   */
  readonly keepCredentialHeaders?: ReadonlySet<string>;
}

export interface ApiDeps {
  readonly queue: QueueBackend;
  readonly store: ResultStore;
  /** The fused fast path where queue and store share one server (ports/fused.ts); absent: the two ports. */
  readonly fused?: FusedBackend;
  readonly events: HqmEvents;
  readonly metrics?: Metrics;
  /** Spans of HTTP requests and of the requests they queue; undefined while tracing is off. */
  readonly tracing?: Tracing;
  /** Extra components for /health (e.g. the worker pool of the same process). */
  readonly components?: () => Promise<Record<string, HealthReport>>;
  /**
   * True once the process has begun to shut down, before the listener closes: new work is
   * refused (503) and /health/ready turns 503 while in-flight work drains.
   */
  readonly closing?: () => boolean;
  /**
   * The admin dashboard's files (src/dashboard), served at `<control prefix>/dashboard`, which
   * then is a control path like /docs; undefined: no dashboard (api.dashboard_enabled false), and
   * in sidecar mode /dashboard is captured like any other path. The API never imports it.
   */
  readonly dashboard?: FastifyPluginAsync;
}

export interface RouteContext extends ApiDeps {
  readonly options: ApiOptions;
  readonly waiters: CompletionWaiters;
  /** Live SSE and WebSocket streams of this app: their bound and their change-feed watch. */
  readonly streamHub: StreamHub;
  readonly depthGate: DepthGates;
  /** True once shutdown has begun (the process's, or this app's close()). */
  readonly closing: () => boolean;
  /** options.trustProxy compiled: whether an address `hop` steps away may speak for the client. */
  readonly trust: TrustFunction;
}

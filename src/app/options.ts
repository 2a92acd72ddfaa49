/**
 * Configuration translated into the plain options the worker pool and the API take (neither
 * sees `Config`; see docs/architecture.md).
 *
 * @module
 */
import type { ApiOptions } from '../api/context.js';
import type { Config } from '../config/schema.js';
import type { PartitionSettings } from '../core/partition.js';
import { DEFAULT_QUEUE } from '../core/request/envelope.js';
import { rateWindowOf } from '../core/request/tenant-rate.js';
import { concurrencyLimitOf } from '../core/request/tenant-slots.js';
import type { WorkerOptions } from '../worker/runner.js';
import type { AppAuth } from './auth.js';
import type { Proxy } from './proxy.js';
import { configuredQueues, servedQueues } from './queues.js';
import { routeSimulator, type RoutesHolder } from './routes.js';
import { VERSION } from './version.js';
import { webhookApiOptions } from './webhooks.js';

export function workerOptions(config: Config, workerId: string): WorkerOptions {
  const w = config.worker;
  return {
    queueName: config.queue.request_queue_name,
    concurrency: w.count,
    queues: servedQueues(config),
    visibilityTimeoutMs: config.queue.visibility_timeout_seconds * 1000,
    shutdownGraceMs: w.shutdown_grace_seconds * 1000,
    workerId,
    retry: { maxAttempts: w.max_retries + 1, baseMs: w.retry_delay_base * 1000, maxMs: w.retry_delay_max * 1000 },
    defaultTimeoutSeconds: w.timeout_seconds,
    ttlMs: config.cache.ttl_seconds * 1000,
    maxResultBytes: w.max_result_bytes,
    tenantLimit: (tenant) => concurrencyLimitOf(config.auth.tenants, config.auth.default_tenant, tenant),
  };
}

export function apiOptions(config: Config, parts: { proxy?: Proxy; routes?: RoutesHolder; auth?: AppAuth; tls?: ApiOptions['tls'] }): ApiOptions {
  return {
    auth: parts.auth === undefined ? undefined : { ...parts.auth.api, captureRequiresAuth: config.proxy.capture.require_auth },
    // Without auth no request has a tenant: nothing to limit.
    tenantRate: parts.auth === undefined ? undefined : { windowOf: (tenant) => rateWindowOf(config.auth.tenants, config.auth.default_tenant, tenant) },
    tls: parts.tls,
    // `default` first: the API's depth gate watches the first one.
    queues: new Map(configuredQueues(config).sort((a, b) => Number(b.name === DEFAULT_QUEUE) - Number(a.name === DEFAULT_QUEUE)).map((q) => [q.name, q.backendQueue])),
    queueShares: configuredQueues(config).map(({ name, backendQueue, weight, concurrency }) => ({ name, backendQueue, weight, concurrency })),
    queueTimeouts: new Map(configuredQueues(config).map((q) => [q.name, q.defaultTimeoutSeconds])),
    routeQueue: parts.routes === undefined ? undefined : routeQueue(parts.routes),
    defaultTimeoutSeconds: config.worker.timeout_seconds,
    ttlMs: config.cache.ttl_seconds * 1000,
    maxBodyBytes: config.api.max_body_bytes,
    maxJsonDepth: config.api.max_json_depth,
    maxWaitSeconds: config.api.max_wait_seconds,
    maxWaiters: config.api.max_waiters,
    streams: {
      maxStreams: config.api.max_streams,
      heartbeatMs: config.api.stream_heartbeat_seconds * 1000,
      wsMaxSubscriptions: config.api.ws_max_subscriptions,
      wsMaxBufferedBytes: config.api.ws_max_buffered_bytes,
      queuesIntervalMs: config.api.queues_stream_interval_seconds * 1000,
    },
    // A key outliving its record could only answer 409 after the record expired.
    idempotencyTtlMs: Math.min(config.api.idempotency_ttl_seconds ?? config.cache.ttl_seconds, config.cache.ttl_seconds) * 1000,
    maxBatch: config.api.max_batch,
    maxBatchBodyBytes: config.api.max_batch_body_bytes,
    maxDelaySeconds: config.api.max_delay_seconds,
    analyticsRetentionMs: config.analytics.retention_days * 86_400_000,
    docsEnabled: config.api.docs_enabled,
    trustProxy: config.api.trust_proxy,
    version: VERSION,
    endpoints: parts.proxy?.endpoints,
    // Runs caller-given programs: served only where routing is on, i.e. by an operator's choice.
    simulateRoutes: config.routing.enabled ? routeSimulator(config, parts.routes) : undefined,
    partitioning: config.partitioning.enabled ? partitionSettings(config.partitioning) : undefined,
    // The workers run the built-ins (as compose chooses them): a sleep they would refuse is refused here.
    builtinSleepMaxSeconds: !config.proxy.enabled && config.worker.processor_module === null ? config.worker.builtin_sleep_max_seconds : undefined,
    maxQueueDepth: config.api.max_queue_depth,
    maxEventLoopDelayMs: config.api.max_event_loop_delay_ms,
    webhooks: webhookApiOptions(config),
    capture: {
      enabled: config.proxy.capture.enabled,
      controlPrefix: config.proxy.capture.control_prefix,
      retryAfterSeconds: config.proxy.capture.retry_after_seconds,
      keepCredentialHeaders: credentialHeadersForwarded(config.proxy.forward_headers),
    },
  };
}

export function partitionSettings(p: Config['partitioning']): PartitionSettings {
  return { strategy: p.strategy, partitionCount: p.partition_count, keyFields: [p.partition_key_field, p.session_key_field, 'metadata.partition_key'] };
}

/**
 * The credential headers proxy.forward_headers names one by one: only then does a captured
 * request keep the credential it showed OpenHQM. "*" does not count: forwarding a key must be
 * asked for by name.
 */
function credentialHeadersForwarded(names: readonly string[]): ReadonlySet<string> {
  const listed = new Set(names.map((n) => n.trim().toLowerCase()));
  return new Set(['authorization', 'x-api-key'].filter((h) => listed.has(h)));
}

/** The queue a route files a submission into: the routes in force, matched as the worker will. */
function routeQueue(routes: RoutesHolder): NonNullable<ApiOptions['routeQueue']> {
  return (submission) => routes.current.queueOf({ payload: submission.payload, headers: submission.headers, metadata: submission.metadata, request: submission.request });
}

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
import type { WorkerOptions } from '../worker/runner.js';
import type { Proxy } from './proxy.js';
import { routeSimulator, type RoutesHolder } from './routes.js';
import { VERSION } from './version.js';

export function workerOptions(config: Config, workerId: string): WorkerOptions {
  const w = config.worker;
  return {
    queueName: config.queue.request_queue_name,
    concurrency: w.count,
    visibilityTimeoutMs: config.queue.visibility_timeout_seconds * 1000,
    shutdownGraceMs: w.shutdown_grace_seconds * 1000,
    workerId,
    retry: { maxAttempts: w.max_retries + 1, baseMs: w.retry_delay_base * 1000, maxMs: w.retry_delay_max * 1000 },
    defaultTimeoutSeconds: w.timeout_seconds,
    ttlMs: config.cache.ttl_seconds * 1000,
    maxResultBytes: w.max_result_bytes,
  };
}

export function apiOptions(config: Config, parts: { proxy?: Proxy; routes?: RoutesHolder }): ApiOptions {
  return {
    queues: new Map([[DEFAULT_QUEUE, config.queue.request_queue_name]]),
    defaultTimeoutSeconds: config.worker.timeout_seconds,
    ttlMs: config.cache.ttl_seconds * 1000,
    maxBodyBytes: config.api.max_body_bytes,
    maxJsonDepth: config.api.max_json_depth,
    maxWaitSeconds: config.api.max_wait_seconds,
    maxWaiters: config.api.max_waiters,
    docsEnabled: config.api.docs_enabled,
    trustProxy: config.api.trust_proxy,
    version: VERSION,
    endpoints: parts.proxy?.endpoints,
    // Runs caller-given programs: served only where routing is on, i.e. by an operator's choice.
    simulateRoutes: config.routing.enabled ? routeSimulator(config, parts.routes) : undefined,
    partitioning: config.partitioning.enabled ? partitionSettings(config.partitioning) : undefined,
    maxQueueDepth: config.api.max_queue_depth,
    maxEventLoopDelayMs: config.api.max_event_loop_delay_ms,
    capture: {
      enabled: config.proxy.capture.enabled,
      controlPrefix: config.proxy.capture.control_prefix,
      retryAfterSeconds: config.proxy.capture.retry_after_seconds,
    },
  };
}

export function partitionSettings(p: Config['partitioning']): PartitionSettings {
  return { strategy: p.strategy, partitionCount: p.partition_count, keyFields: [p.partition_key_field, p.session_key_field, 'metadata.partition_key'] };
}

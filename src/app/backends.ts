/**
 * Creating the queue backend and the result store named by the configuration, through the
 * registries, and checking the configuration against what they can do.
 *
 * @module
 */
import { fusedPair } from '../adapters/fused/registry.js';
import { queueBackends } from '../adapters/queue/registry.js';
import { resultStores } from '../adapters/result-store/registry.js';
import type { Config } from '../config/schema.js';
import { queueCapabilityIssues } from '../ports/queue-capabilities.js';
import { HqmError } from '../core/errors.js';
import type { AdapterContext } from '../ports/adapter.js';
import type { FusedBackend } from '../ports/fused.js';
import type { QueueBackend } from '../ports/queue-backend.js';
import type { ResultStore } from '../ports/result-store.js';
import { processCount } from './cluster/count.js';

/** Which parts this process runs. */
export interface Roles {
  readonly api: boolean;
  readonly worker: boolean;
}

/** The names queue.type and cache.type may take, for checking the configuration before anything is created. */
export function backendNames(): Record<'queue' | 'cache', string[]> {
  return { queue: Object.keys(queueBackends), cache: Object.keys(resultStores) };
}

export async function createQueue(config: Config, context: AdapterContext): Promise<QueueBackend> {
  const load = Object.hasOwn(queueBackends, config.queue.type) ? queueBackends[config.queue.type] : undefined;
  if (load === undefined) throw unknownType('queue.type', config.queue.type, Object.keys(queueBackends));
  const { factory } = await load();
  // An adapter reads its own keys from the queue section and from a section named after it.
  const section = (config as unknown as Record<string, object | undefined>)[config.queue.type] ?? {};
  return factory.create({ ...config.queue, ...section }, context);
}

export async function createStore(config: Config, context: AdapterContext): Promise<ResultStore> {
  const load = Object.hasOwn(resultStores, config.cache.type) ? resultStores[config.cache.type] : undefined;
  if (load === undefined) throw unknownType('cache.type', config.cache.type, Object.keys(resultStores));
  const { factory } = await load();
  const section = (config as unknown as Record<string, object | undefined>)[config.cache.type] ?? {};
  return factory.create({ ...config.cache, ...section }, context);
}

/**
 * The fused fast path of the two (ports/fused.ts) when they share one server and `queue.fused`
 * is on; undefined otherwise, and the API and the workers use the two ports apart (D181).
 */
export async function createFused(config: Config, queue: QueueBackend, store: ResultStore, context: AdapterContext): Promise<FusedBackend | undefined> {
  if (!config.queue.fused) return undefined;
  // A custom backend may name itself after a built-in one, but it is not that adapter's object (D282).
  if (config.queue.type === 'custom' || config.cache.type === 'custom') return undefined;
  const fused = await fusedPair(queue, store);
  if (fused !== undefined) context.logger.info({ fused: fused.type }, 'queue and result store share one server: submits and finishes write both in one step');
  return fused;
}

/** Fails fast when the configuration asks for what the chosen backends cannot do. */
export function checkCapabilities(config: Config, roles: Roles, queue: QueueBackend, store: ResultStore): void {
  const issues: Array<{ path: string; message: string }> = [];
  const split = !(roles.api && roles.worker);
  if (split && !queue.capabilities.shared) {
    issues.push({ path: 'queue.type', message: `"${queue.type}" keeps messages inside one process; run \`openhqm start\` (API and workers together) or choose a shared backend` });
  }
  if (split && !store.capabilities.sharedChangeFeed && !store.capabilities.durable) {
    issues.push({ path: 'cache.type', message: `"${store.type}" keeps results inside one process; run \`openhqm start\` or choose a shared store` });
  }
  // N processes of one command share the backends as split processes do (D152); a split one was told above.
  const processes = processCount(config.server.processes);
  if (!split && processes > 1 && (!queue.capabilities.shared || (!store.capabilities.sharedChangeFeed && !store.capabilities.durable))) {
    const inProcess = [...(queue.capabilities.shared ? [] : [`queue "${queue.type}"`]), ...(store.capabilities.sharedChangeFeed || store.capabilities.durable ? [] : [`result store "${store.type}"`])];
    issues.push({
      path: 'server.processes',
      message: `${processes} processes cannot share the ${inProcess.join(' and the ')}: it lives inside one process; set server.processes to 1, or use a shared backend (sqlite on a file, redis)`,
    });
  }
  if (config.worker.max_retries > 0 && config.worker.retry_delay_base > 0 && !queue.capabilities.delay) {
    issues.push({ path: 'worker.retry_delay_base', message: `the ${queue.type} queue cannot delay messages; set it to 0 (immediate retries) or choose a backend with delays` });
  }
  if (config.partitioning.enabled && config.partitioning.strategy !== 'round_robin' && !queue.capabilities.partitionOrdering) {
    issues.push({ path: 'partitioning.enabled', message: `the ${queue.type} queue cannot keep the order of a partition key; use a backend that can (sqlite, redis, postgres, memory) or strategy round_robin` });
  }
  if (roles.worker && config.delivery.webhooks.secret.length > 0 && config.delivery.webhooks.max_attempts > 1 && !queue.capabilities.delay) {
    issues.push({ path: 'delivery.webhooks.max_attempts', message: `the ${queue.type} queue cannot delay messages, so webhook retries cannot back off; set it to 1 or choose a backend with delays` });
  }
  if (roles.worker && !store.capabilities.tenantConcurrency && hasTenantLimits(config)) {
    issues.push({ path: 'auth.tenants', message: `the ${store.type} result store cannot count a tenant's requests atomically across workers (a Redis Cluster): leave max_concurrency unset or use one Redis node, PostgreSQL or SQLite` });
  }
  // The capability values (D132): a lease range, redelivery, the longest delay.
  issues.push(...queueCapabilityIssues(queue.type, queue.capabilities, { visibilityTimeoutMs: config.queue.visibility_timeout_seconds * 1000, longestRetryDelayMs: config.worker.retry_delay_max * 1000, worker: roles.worker }));
  if (issues.length > 0) {
    throw new HqmError('HQM_ERR_CAPABILITY', issues.map((i) => `${i.path}: ${i.message}`).join('\n'), { details: { issues } });
  }
}

function unknownType(key: string, value: string, known: readonly string[]): HqmError {
  return new HqmError('HQM_ERR_ADAPTER_UNKNOWN', `${key}: unknown backend "${value}" (available: ${known.join(', ')})`, { details: { key, value, known } });
}

function hasTenantLimits(config: Config): boolean {
  return config.auth.default_tenant.max_concurrency !== null || Object.values(config.auth.tenants).some((t) => t.max_concurrency !== undefined && t.max_concurrency !== null);
}


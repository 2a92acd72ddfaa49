/** What the API routes need, handed in by the composition root. */
import type { HqmEvents } from '../core/events.js';
import type { Metrics } from '../observability/metrics.js';
import type { HealthReport } from '../ports/health.js';
import type { QueueBackend } from '../ports/queue-backend.js';
import type { ResultStore } from '../ports/result-store.js';
import type { CompletionWaiters } from './completion-waiters.js';

export interface ApiOptions {
  /** Logical queue names clients may ask for (metadata.queue) → backend queue names. */
  readonly queues: ReadonlyMap<string, string>;
  readonly defaultTimeoutSeconds: number;
  readonly ttlMs: number;
  readonly maxBodyBytes: number;
  readonly maxJsonDepth: number;
  readonly maxWaitSeconds: number;
  readonly docsEnabled: boolean;
  readonly trustProxy: boolean;
  readonly version: string;
}

export interface ApiDeps {
  readonly queue: QueueBackend;
  readonly store: ResultStore;
  readonly events: HqmEvents;
  readonly metrics?: Metrics;
  /** Extra components for /health (e.g. the worker pool of the same process). */
  readonly components?: () => Promise<Record<string, HealthReport>>;
}

export interface RouteContext extends ApiDeps {
  readonly options: ApiOptions;
  readonly waiters: CompletionWaiters;
  /** True once shutdown has begun. */
  readonly closing: () => boolean;
}

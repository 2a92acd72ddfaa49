import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { afterEach } from 'vitest';
import { MemoryQueue } from '../../src/adapters/queue/memory/index.js';
import { MemoryResultStore } from '../../src/adapters/result-store/memory/index.js';
import { buildApi } from '../../src/api/build-api.js';
import type { ApiOptions } from '../../src/api/context.js';
import { HqmEvents } from '../../src/core/events.js';
import { Metrics } from '../../src/observability/metrics.js';
import { silentLogger } from '../../src/ports/logger.js';

export const QUEUE = 'openhqm-requests';

export function apiOptions(overrides: Partial<ApiOptions> = {}): ApiOptions {
  return {
    queues: new Map([['default', QUEUE]]),
    defaultTimeoutSeconds: 300,
    ttlMs: 3_600_000,
    maxBodyBytes: 1024 * 1024,
    maxJsonDepth: 64,
    maxWaitSeconds: 30,
    docsEnabled: true,
    trustProxy: false,
    version: '0.0.0-test',
    maxQueueDepth: 0,
    maxEventLoopDelayMs: 0,
    capture: { enabled: false, controlPrefix: '', retryAfterSeconds: 1 },
    ...overrides,
  };
}

export interface TestApi {
  app: FastifyInstance;
  queue: MemoryQueue;
  store: MemoryResultStore;
  events: HqmEvents;
  metrics: Metrics;
}

const open: TestApi[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map(async (t) => {
    await t.app.close();
    await t.queue.close();
    await t.store.close();
  }));
});

/** An API on the in-memory backends, closed after each test; `deps.dashboard` as app/ mounts it. */
export async function testApi(overrides: Partial<ApiOptions> = {}, deps: { dashboard?: FastifyPluginAsync } = {}): Promise<TestApi> {
  const queue = new MemoryQueue(silentLogger);
  const store = new MemoryResultStore();
  const events = new HqmEvents();
  const metrics = new Metrics({ defaultMetrics: false });
  metrics.observe(events, 'test');
  const app = await buildApi({ queue, store, events, metrics, ...deps, options: apiOptions(overrides) });
  const api = { app, queue, store, events, metrics };
  open.push(api);
  return api;
}

import { afterEach } from 'vitest';
import { MemoryQueue } from '../../src/adapters/queue/memory/index.js';
import { MemoryResultStore } from '../../src/adapters/result-store/memory/index.js';
import { buildApi } from '../../src/api/build-api.js';
import type { ApiOptions } from '../../src/api/context.js';
import { followUpSubmitter } from '../../src/app/follow-ups.js';
import { HqmEvents } from '../../src/core/events.js';
import { isTerminal } from '../../src/core/request/lifecycle.js';
import type { RequestRecord } from '../../src/core/request/record.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { Processor } from '../../src/worker/processor.js';
import { builtinProcessor } from '../../src/worker/processors/builtin.js';
import { WorkerPool, type WorkerOptions } from '../../src/worker/runner.js';
import { apiOptions, QUEUE } from './api.js';
import { waitFor } from './wait.js';

export interface Gateway {
  readonly app: Awaited<ReturnType<typeof buildApi>>;
  readonly queue: MemoryQueue;
  readonly store: MemoryResultStore;
  readonly events: HqmEvents;
  readonly pool: WorkerPool;
  submit(payload: Record<string, unknown>, metadata?: Record<string, unknown>): Promise<string>;
  finished(id: string, timeoutMs?: number): Promise<RequestRecord>;
}

const open: Gateway[] = [];
afterEach(async () => {
  await Promise.all(
    open.splice(0).map(async (g) => {
      await g.app.close();
      await g.pool.stop();
      await g.queue.close();
      await g.store.close();
    }),
  );
});

/** API and worker pool on the in-memory backends, as `openhqm start` wires them. */
export async function gateway(options: { processor?: Processor; worker?: Partial<WorkerOptions>; api?: Partial<ApiOptions> } = {}): Promise<Gateway> {
  const queue = new MemoryQueue(silentLogger);
  const store = new MemoryResultStore();
  const events = new HqmEvents();
  const app = await buildApi({ queue, store, events, options: apiOptions(options.api) });
  const pool = new WorkerPool(
    // Follow-ups (metadata.then) as compose wires them.
    { queue, store, events, processor: options.processor ?? builtinProcessor, logger: silentLogger, followUps: followUpSubmitter({ queue, store, events }, apiOptions(options.api)) },
    {
      queueName: QUEUE,
      concurrency: 4,
      visibilityTimeoutMs: 30_000,
      shutdownGraceMs: 5_000,
      workerId: 'test-worker',
      retry: { maxAttempts: 3, baseMs: 10, maxMs: 50 },
      defaultTimeoutSeconds: 300,
      ttlMs: 3_600_000,
      ...options.worker,
    },
  );
  pool.start();
  const g: Gateway = {
    app,
    queue,
    store,
    events,
    pool,
    async submit(payload, metadata) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload, metadata } });
      if (res.statusCode !== 202) throw new Error(`submit answered ${res.statusCode}: ${res.body}`);
      return res.json<{ correlation_id: string }>().correlation_id;
    },
    async finished(id, timeoutMs = 10_000) {
      return waitFor(
        async () => {
          const record = await store.get(id);
          return record !== undefined && isTerminal(record.status) ? record : undefined;
        },
        { timeoutMs, what: `request ${id} to finish` },
      );
    },
  };
  open.push(g);
  return g;
}

import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryQueue } from '../../src/adapters/queue/memory/index.js';
import { MemoryResultStore } from '../../src/adapters/result-store/memory/index.js';
import { HqmEvents } from '../../src/core/events.js';
import { encodeEnvelope, normalizeMetadata } from '../../src/core/request/envelope.js';
import type { Delivery } from '../../src/ports/queue-backend.js';
import { silentLogger } from '../../src/ports/logger.js';
import { WorkerPool } from '../../src/worker/runner.js';
import { deferred, waitFor } from '../helpers/wait.js';

async function submit(queue: MemoryQueue, store: MemoryResultStore, name: string): Promise<string> {
  const id = randomUUID();
  await store.create({ id, queue: name, priority: 0, submittedAt: Date.now(), deadlineAt: null, ttlMs: 60_000 });
  const metadata = normalizeMetadata({ queue: name }, { timeout: 300 });
  await queue.publish(`q.${name}`, { body: encodeEnvelope({ v: 1, correlation_id: id, timestamp: new Date().toISOString(), payload: {}, headers: {}, metadata, request: null, traceparent: null }) });
  return id;
}

describe('worker pool with named queues', () => {
  it('hands a delivery still waiting for a slot back at shutdown, uncounted, while the running one finishes', async () => {
    const queue = new MemoryQueue(silentLogger);
    const store = new MemoryResultStore();
    const running = deferred();
    const finish = deferred();
    const pool = new WorkerPool(
      {
        queue,
        store,
        events: new HqmEvents(),
        logger: silentLogger,
        processor: async () => {
          running.resolve();
          await finish.promise;
          return { ok: true };
        },
      },
      {
        queueName: 'unused',
        concurrency: 1,
        visibilityTimeoutMs: 30_000,
        shutdownGraceMs: 30_000,
        workerId: 'w',
        retry: { maxAttempts: 3, baseMs: 1, maxMs: 1 },
        defaultTimeoutSeconds: 300,
        ttlMs: 60_000,
        queues: ['a', 'b'].map((name) => ({ name, backendQueue: `q.${name}`, weight: 1, concurrency: null })),
      },
    );
    const first = await submit(queue, store, 'a');
    pool.start();
    await running.promise;
    await submit(queue, store, 'b');
    // b's delivery is held waiting for the one slot a holds.
    await waitFor(async () => (await queue.stats('q.b')).inFlight === 1, { what: 'b to be delivered and wait' });
    const stopped = pool.stop();
    await waitFor(async () => (await queue.stats('q.b')).inFlight === 0, { what: 'b to be handed back' });
    finish.resolve();
    await stopped;
    expect((await store.get(first))?.status).toBe('COMPLETED');
    const again = deferred<Delivery>();
    const sub = queue.consume('q.b', { concurrency: 1, visibilityTimeoutMs: 30_000 }, async (d) => again.resolve(d));
    // Never started, so the attempt it took was given back.
    expect((await again.promise).deliveryCount).toBe(1);
    await sub.stop();
    await queue.close();
    await store.close();
  });
});

/** stop() during an outage back-off hands the delivery back at once instead of sleeping the back-off out. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryQueue } from '../../src/adapters/queue/memory/index.js';
import { MemoryResultStore } from '../../src/adapters/result-store/memory/index.js';
import { HqmError } from '../../src/core/errors.js';
import { HqmEvents } from '../../src/core/events.js';
import { silentLogger, type Logger } from '../../src/ports/logger.js';
import type { ResultStore } from '../../src/ports/result-store.js';
import { builtinProcessor } from '../../src/worker/processors/builtin.js';
import { WorkerPool } from '../../src/worker/runner.js';
import { deferred } from '../helpers/wait.js';

const QUEUE = 'outage';

afterEach(() => {
  vi.useRealTimers();
});

/** A store that is down: every call fails as the Redis or SQLite store does when unreachable. */
function downStore(inner: MemoryResultStore): ResultStore {
  const down = (): Promise<never> => Promise.reject(new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the store is down'));
  return new Proxy(inner, {
    get(target, key, receiver) {
      if (key === 'get' || key === 'create' || key === 'transition') return down;
      // Bound to the store itself: its methods use private fields, which a proxy receiver lacks.
      const value = Reflect.get(target, key, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('worker pool: stop() during the outage back-off', () => {
  it('returns without waiting out the back-off and hands the delivery back uncounted', async () => {
    // The clock never moves: a back-off that only a timer can end would hold stop() forever.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const queue = new MemoryQueue(silentLogger);
    const inner = new MemoryResultStore();
    const inBackoff = deferred();
    const logger: Logger = {
      ...silentLogger,
      error: (_fields, message) => {
        if (message === 'backend unavailable while handling a delivery') inBackoff.resolve();
      },
      child: () => logger,
    };
    const pool = new WorkerPool(
      { queue, store: downStore(inner), processor: builtinProcessor, events: new HqmEvents(), logger },
      { queueName: QUEUE, concurrency: 1, visibilityTimeoutMs: 3_600_000, shutdownGraceMs: 3_600_000, workerId: 'w', retry: { maxAttempts: 3, baseMs: 0, maxMs: 0 }, defaultTimeoutSeconds: 60, ttlMs: 60_000 },
    );
    await queue.publish(QUEUE, { body: JSON.stringify({ operation: 'echo' }) });
    pool.start();
    await inBackoff.promise;
    expect(pool.active).toBe(1);

    await pool.stop();

    expect(pool.state).toBe('stopped');
    expect(pool.active).toBe(0);
    // Back in the queue for another worker, and this attempt not counted against it.
    expect(await queue.stats(QUEUE)).toMatchObject({ depth: 1, inFlight: 0 });
    await queue.close();
    await inner.close();
  });
});

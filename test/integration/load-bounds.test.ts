/**
 * Per-process bounds under load: long-polls (`api.max_waiters`) and result size
 * (`worker.max_result_bytes`).
 */
import { describe, expect, it } from 'vitest';
import { MemoryQueue } from '../../src/adapters/queue/memory/index.js';
import { MemoryResultStore } from '../../src/adapters/result-store/memory/index.js';
import { buildApi } from '../../src/api/build-api.js';
import { HqmEvents } from '../../src/core/events.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { ChangeListener, ResultStore } from '../../src/ports/result-store.js';
import { apiOptions } from '../helpers/api.js';
import { gateway } from '../helpers/gateway.js';
import { deferred } from '../helpers/wait.js';
import { outcome } from '../../src/conformance/index.js';

describe('api.max_waiters', () => {
  it('answers a long-poll past the cap at once, as with wait=0, while the ones within it keep waiting', async () => {
    const store = new MemoryResultStore();
    const queue = new MemoryQueue(silentLogger);
    // The waiters subscribe to the change feed on their first registration: that says the first long-poll waits.
    const subscribed = deferred();
    const watched = new Proxy<ResultStore>(store, {
      get(target, key) {
        if (key === 'onChange') {
          return (listener: ChangeListener) => {
            subscribed.resolve();
            return target.onChange(listener);
          };
        }
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const app = await buildApi({ queue, store: watched, events: new HqmEvents(), options: apiOptions({ maxWaiters: 1, maxWaitSeconds: 3600 }) });
    try {
      const submit = async (): Promise<string> => (await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {} } })).json<{ correlation_id: string }>().correlation_id;
      const [held, other] = [await submit(), await submit()];
      const waiting = app.inject({ method: 'GET', url: `/api/v1/response/${held}?wait=600` });
      await subscribed.promise;

      // Past the cap: not an error and not a wait (it would take 600 s), the answer of wait=0.
      const refused = await app.inject({ method: 'GET', url: `/api/v1/response/${other}?wait=600` });
      expect(refused.statusCode).toBe(202);
      expect(refused.json()).toMatchObject({ status: 'PENDING' });
      const submitted = await app.inject({ method: 'POST', url: '/api/v1/submit?wait=600', payload: { payload: {} } });
      expect(submitted.statusCode).toBe(202);

      // The long-poll within the cap is still waiting, and is answered when its request finishes.
      await store.transition({ id: held, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
      await store.transition({ id: held, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome({ done: true }) });
      const answered = await waiting;
      expect(answered.statusCode).toBe(200);
      expect(answered.json()).toMatchObject({ result: { done: true } });
    } finally {
      await app.close();
      await queue.close();
      await store.close();
    }
  });
});

describe('worker.max_result_bytes', () => {
  it('fails a request whose result is larger, with HQM_ERR_RESULT_TOO_LARGE, instead of storing it', async () => {
    const g = await gateway({
      processor: async (envelope) => ({ text: 'x'.repeat(Number((envelope.payload as { size: number }).size)) }),
      worker: { maxResultBytes: 4096 },
    });
    const small = await g.finished(await g.submit({ size: 100 }));
    expect(small).toMatchObject({ status: 'COMPLETED', outcome: { result: { text: 'x'.repeat(100) } } });

    const large = await g.finished(await g.submit({ size: 10_000 }));
    expect(large.status).toBe('FAILED');
    expect(large.outcome).toMatchObject({ result: null, errorCode: 'HQM_ERR_RESULT_TOO_LARGE' });
    expect(large.error).toMatch(/worker\.max_result_bytes allows 4096/);
    const read = await g.app.inject({ method: 'GET', url: `/api/v1/response/${large.id}` });
    expect(read.json()).toMatchObject({ status: 'FAILED', error_code: 'HQM_ERR_RESULT_TOO_LARGE' });
  });
});

/**
 * A request answered 503 never runs (D133, D176): when a submit or a batch fails after records
 * were created, each record is withdrawn (PENDING → CANCELLED by compare-and-set) before it is
 * deleted, so a message that landed anyway (a publish that "failed" by a timeout) finds a
 * finished record even when the delete does not happen; and a record a worker claimed first is
 * running, so the client is told so instead of a plain 503.
 */
import { describe, expect, it, vi } from 'vitest';
import { HqmError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/ports/logger.js';
import { WorkerPool } from '../../src/worker/runner.js';
import { QUEUE, testApi, type TestApi } from '../helpers/api.js';
import { watchRecords } from '../helpers/records.js';
import { waitFor } from '../helpers/wait.js';

const item = (data: string) => ({ payload: { operation: 'echo', data } });

/** The store forgets nothing: every delete fails, as when the store went away after the withdrawal. */
function deletesFail(api: TestApi): void {
  vi.spyOn(api.store, 'delete').mockRejectedValue(new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'store away'));
}

/** Runs a worker over the queue until every message is settled; resolves to how many requests its processor ran. */
async function runWorker(api: TestApi): Promise<number> {
  let runs = 0;
  const pool = new WorkerPool(
    {
      queue: api.queue,
      store: api.store,
      events: api.events,
      logger: silentLogger,
      processor: async () => {
        runs += 1;
        return 'ran';
      },
    },
    { queueName: QUEUE, concurrency: 4, visibilityTimeoutMs: 30_000, shutdownGraceMs: 1000, workerId: 'w', retry: { maxAttempts: 1, baseMs: 0, maxMs: 0 }, defaultTimeoutSeconds: 300, ttlMs: 60_000 },
  );
  pool.start();
  try {
    await waitFor(async () => {
      const stats = await api.queue.stats(QUEUE);
      return stats.depth === 0 && stats.inFlight === 0;
    }, { what: 'every message settled' });
  } finally {
    await pool.stop();
  }
  return runs;
}

describe('a request answered 503 never runs', () => {
  it('submit: a publish that failed but landed finds its record withdrawn, even when the delete failed too', async () => {
    const api = await testApi();
    const publish = api.queue.publish.bind(api.queue);
    vi.spyOn(api.queue, 'publish').mockImplementation(async (...args) => {
      await publish(...args); // Landed, but the answer timed out.
      throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'publish timed out');
    });
    deletesFail(api);
    const records = watchRecords(api.store);
    const res = await api.app.inject({ method: 'POST', url: '/api/v1/submit', payload: item('x') });
    expect(res.statusCode).toBe(503);
    const [id] = records.seen;
    expect(await api.store.get(id ?? '')).toMatchObject({ status: 'CANCELLED', error: expect.stringMatching(/answered 503/) });
    expect(await runWorker(api)).toBe(0);
  });

  it('submit: a record a worker claimed before the publish "failed" is running, so the client hears 202', async () => {
    const api = await testApi();
    const records = watchRecords(api.store);
    const publish = api.queue.publish.bind(api.queue);
    vi.spyOn(api.queue, 'publish').mockImplementation(async (...args) => {
      await publish(...args);
      // A worker took the message and claimed its record before the publish's answer came.
      const id = await waitFor(() => records.seen[0], { what: 'the record' });
      expect((await api.store.claim({ id, workerId: 'quick', leaseMs: 30_000 })).ok).toBe(true);
      throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'publish timed out');
    });
    const res = await api.app.inject({ method: 'POST', url: '/api/v1/submit', payload: item('x') });
    expect(res.statusCode).toBe(202);
    expect(await api.store.get(res.json().correlation_id)).toMatchObject({ status: 'PROCESSING', workerId: 'quick' });
  });

  it('batch: the items stored before another failed are withdrawn before they are deleted, so none of them runs', async () => {
    const api = await testApi();
    const publish = api.queue.publish.bind(api.queue);
    let calls = 0;
    vi.spyOn(api.queue, 'publish').mockImplementation(async (...args) => {
      calls += 1;
      if (calls === 2) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'broker away');
      return publish(...args);
    });
    deletesFail(api);
    const records = watchRecords(api.store);
    const res = await api.app.inject({ method: 'POST', url: '/api/v1/submit/batch', payload: { requests: [item('a'), item('b'), item('c')] } });
    expect(res.statusCode).toBe(503);
    expect(res.json()).not.toHaveProperty('running');
    const left = await Promise.all(records.seen.map((id) => api.store.get(id)));
    // Items a and c were stored and published; b's record was taken back by its own submit.
    expect(left.map((r) => r?.status)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);
    expect(await runWorker(api)).toBe(0);
  });

  it('batch: an item a worker already took is left running, and the 503 names it in `running`', async () => {
    const api = await testApi();
    const records = watchRecords(api.store);
    const publish = api.queue.publish.bind(api.queue);
    let calls = 0;
    vi.spyOn(api.queue, 'publish').mockImplementation(async (...args) => {
      const call = (calls += 1);
      if (call === 2) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'broker away');
      const receipt = await publish(...args);
      if (call === 1) {
        // The first item is taken by a worker while the second's publish is still failing.
        const id = await waitFor(() => records.seen[0], { what: 'the first record' });
        expect((await api.store.claim({ id, workerId: 'quick', leaseMs: 30_000 })).ok).toBe(true);
      }
      return receipt;
    });
    const res = await api.app.inject({ method: 'POST', url: '/api/v1/submit/batch', payload: { requests: [item('a'), item('b'), item('c')] } });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    const body = res.json<{ code: string; running: string[] }>();
    expect(body.code).toBe('HQM_ERR_BACKEND_UNAVAILABLE');
    expect(body.running).toHaveLength(1);
    // The running one is kept, so its outcome can be read; the others are gone.
    expect(await api.store.get(body.running[0] ?? '')).toMatchObject({ status: 'PROCESSING', workerId: 'quick' });
    expect(body.running).toEqual([records.seen[0]]);
    expect(await records.left()).toEqual(body.running);
  });
});

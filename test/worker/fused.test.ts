/**
 * The fused path through the API and the worker (D183, D184), on a SQLite file: the same events,
 * trails and results as the two-port path; the two-port path where something must run between
 * the write and the settle (a webhook, a follow-up); and a fused submit whose answer was lost
 * answered 503 and never run (D133).
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fusedPair } from '../../src/adapters/fused/registry.js';
import { factory as queueFactory } from '../../src/adapters/queue/sqlite/index.js';
import { factory as storeFactory } from '../../src/adapters/result-store/sqlite/index.js';
import { buildApi } from '../../src/api/build-api.js';
import { HqmError } from '../../src/core/errors.js';
import { HqmEvents, type HqmEventName } from '../../src/core/events.js';
import { isTerminal } from '../../src/core/request/lifecycle.js';
import type { FusedBackend } from '../../src/ports/fused.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { QueueBackend } from '../../src/ports/queue-backend.js';
import type { ResultStore } from '../../src/ports/result-store.js';
import type { Processor } from '../../src/worker/processor.js';
import { WorkerPool, type WorkerOptions } from '../../src/worker/runner.js';
import { apiOptions, QUEUE } from '../helpers/api.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const dir = tempDir();
const context = { logger: silentLogger };
const EVENTS: readonly HqmEventName[] = ['request:submitted', 'delivery:received', 'request:claimed', 'request:completed', 'request:retrying', 'request:failed', 'request:dead_lettered'];

/** Fails its first attempt (retryably) when asked, for good when asked, else echoes. */
const processor: Processor = async (envelope, ctx) => {
  const payload = envelope.payload as { mode?: string };
  if (payload.mode === 'flaky' && ctx.attempt === 1) throw Object.assign(new Error('try again'), { retryable: true });
  if (payload.mode === 'broken') throw Object.assign(new Error('broken for good'), { retryable: false });
  return { echo: payload };
};

interface Setup {
  readonly app: Awaited<ReturnType<typeof buildApi>>;
  readonly store: ResultStore;
  readonly queue: QueueBackend;
  readonly fused: FusedBackend | undefined;
  /** Event names per request id, in order. */
  readonly seen: Map<string, string[]>;
  finished(id: string): Promise<void>;
}

const closing: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

async function setup(name: string, options: { fused: boolean; wrap?: (fused: FusedBackend) => FusedBackend; worker?: Partial<WorkerOptions>; start?: boolean }): Promise<Setup> {
  const path = join(dir, `${name}.db`);
  const queue = await queueFactory.create({ path }, context);
  const store = await storeFactory.create({ path }, context);
  closing.push(async () => void (await Promise.all([queue.close(), store.close()])));
  const paired = options.fused ? await fusedPair(queue, store) : undefined;
  const fused = paired !== undefined && options.wrap !== undefined ? options.wrap(paired) : paired;
  const events = new HqmEvents();
  const seen = new Map<string, string[]>();
  for (const event of EVENTS) {
    events.on(event, (e: { id: string | null }) => {
      if (e.id !== null) seen.set(e.id, [...(seen.get(e.id) ?? []), event]);
    });
  }
  const app = await buildApi({ queue, store, fused, events, options: apiOptions() });
  closing.push(() => app.close());
  if (options.start !== false) {
    const pool = new WorkerPool(
      { queue, store, fused, events, processor, logger: silentLogger },
      { queueName: QUEUE, concurrency: 4, visibilityTimeoutMs: 30_000, shutdownGraceMs: 2_000, workerId: 'w', retry: { maxAttempts: 3, baseMs: 5, maxMs: 10 }, defaultTimeoutSeconds: 300, ttlMs: 3_600_000, ...options.worker },
    );
    pool.start();
    closing.push(() => pool.stop());
  }
  return {
    app,
    store,
    queue,
    fused,
    seen,
    finished: async (id) => {
      await waitFor(async () => {
        const record = await store.get(id);
        return record !== undefined && isTerminal(record.status);
      }, { what: `request ${id} to finish` });
      // The events of the finish are emitted right after the write.
      await waitFor(() => (seen.get(id) ?? []).some((e) => e === 'request:completed' || e === 'request:failed'), { what: 'the outcome event' });
    },
  };
}

async function submit(s: Setup, payload: Record<string, unknown>, metadata: Record<string, unknown> = {}): Promise<string> {
  const res = await s.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload, metadata } });
  expect(res.statusCode, res.body).toBe(202);
  return res.json<{ correlation_id: string }>().correlation_id;
}

/** What a client and an operator can observe of a finished request, without ids and clocks. */
async function observed(s: Setup, id: string): Promise<unknown> {
  const record = await s.store.get(id);
  const trail = (await s.store.events(id)).map((e) => [e.from, e.to, e.attempt, e.error]);
  const response = (await s.app.inject({ method: 'GET', url: `/api/v1/response/${id}` })).json<Record<string, unknown>>();
  return { status: record?.status, attempt: record?.attempt, error: record?.error, result: record?.outcome?.result, trail, events: s.seen.get(id), response: { ...response, correlation_id: undefined, processing_time_ms: undefined, completed_at: undefined } };
}

describe('the fused path through the API and the worker', () => {
  it('completes, retries and fails requests exactly as the two-port path does, and writes and settles in one step', async () => {
    const two = await setup('two-port', { fused: false });
    let finishes = 0;
    const one = await setup('fused', { fused: true, wrap: (f) => ({ type: f.type, submit: (s) => f.submit(s), owns: (d) => f.owns(d), finish: (d, x) => ((finishes += 1), f.finish(d, x)) }) });
    expect(one.fused?.type).toBe('sqlite+sqlite');
    for (const mode of ['fine', 'flaky', 'broken']) {
      const [a, b] = [await submit(two, { mode }), await submit(one, { mode })];
      await Promise.all([two.finished(a), one.finished(b)]);
      expect(await observed(one, b), mode).toEqual(await observed(two, a));
    }
    // fine: one finish; flaky: a retry and a completion; broken: its failures (retried, then dead-lettered).
    expect(finishes).toBeGreaterThanOrEqual(4);
    expect((await one.queue.stats(QUEUE)).deadLettered).toBe(1);
    await waitFor(async () => (await one.queue.stats(QUEUE)).depth === 0 && (await one.queue.stats(QUEUE)).inFlight === 0, { what: 'an empty queue' });
  });

  it('keeps the two-port path where a webhook is wanted, and the fused one where it is not', async () => {
    let finishes = 0;
    const hooked: string[] = [];
    const s = await setup('hooked', {
      fused: true,
      wrap: (f) => ({ type: f.type, submit: (x) => f.submit(x), owns: (d) => f.owns(d), finish: (d, x) => ((finishes += 1), f.finish(d, x)) }),
      worker: { onTerminal: async (seen) => void hooked.push(seen.id), onTerminalWants: (metadata) => typeof metadata.callback_url === 'string' },
    });
    const plain = await submit(s, { mode: 'fine' });
    await s.finished(plain);
    expect(finishes).toBe(1);
    const withHook = await submit(s, { mode: 'fine' }, { callback_url: 'https://example.com/hook' });
    await s.finished(withHook);
    expect(finishes).toBe(1);
    // Not asked about the plain one: onTerminalWants said it had nothing to do for it.
    expect(hooked).toEqual([withHook]);
  });

  it('answers 503 to a fused submit whose answer was lost, and the request never runs (D133)', async () => {
    const s = await setup('lost', {
      fused: true,
      // The write lands, then the answer is lost (a timeout): the API cannot know it landed.
      wrap: (f) => ({ type: f.type, owns: (d) => f.owns(d), finish: (d, x) => f.finish(d, x), submit: async (x) => {
        await f.submit(x);
        throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the answer was lost');
      } }),
      start: false,
    });
    const res = await s.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: { mode: 'fine' } } });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    // The record was withdrawn: the orphan message finds none, and nothing runs it.
    const events = new HqmEvents();
    let runs = 0;
    const received = new Promise<void>((resolve) => events.once('delivery:received', () => resolve()));
    const pool = new WorkerPool(
      { queue: s.queue, store: s.store, fused: s.fused, events, processor: async () => (runs += 1), logger: silentLogger },
      { queueName: QUEUE, concurrency: 1, visibilityTimeoutMs: 30_000, shutdownGraceMs: 1_000, workerId: 'w', retry: { maxAttempts: 3, baseMs: 5, maxMs: 10 }, defaultTimeoutSeconds: 300, ttlMs: 3_600_000 },
    );
    pool.start();
    closing.push(() => pool.stop());
    await received;
    // Handed back to wait for a record that never comes (dead-lettered once its grace has passed).
    await waitFor(async () => (await s.queue.stats(QUEUE)).inFlight === 0, { what: 'the orphan handed back' });
    expect(runs).toBe(0);
    expect((await s.store.list({ limit: 10 })).records).toEqual([]);
  });

  it('refuses a duplicate id with the submit alone, and leaves the other request alone', async () => {
    const s = await setup('duplicate', { fused: true, start: false });
    const first = await s.app.inject({ method: 'POST', url: '/api/v1/submit', headers: { 'idempotency-key': 'k1' }, payload: { payload: { n: 1 } } });
    expect(first.statusCode).toBe(202);
    const id = first.json<{ correlation_id: string }>().correlation_id;
    const fused = s.fused as FusedBackend;
    const request = { id, queue: 'default', priority: 0, submittedAt: Date.now(), deadlineAt: null, ttlMs: 60_000 };
    await expect(fused.submit({ request, queue: QUEUE, message: { body: '{}' } })).rejects.toMatchObject({ code: 'HQM_ERR_DUPLICATE_ID' });
    expect(await s.store.get(id)).toMatchObject({ status: 'PENDING' });
    expect((await s.queue.stats(QUEUE)).depth).toBe(1);
  });
});

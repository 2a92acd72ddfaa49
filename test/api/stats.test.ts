/**
 * GET /api/v1/stats: hourly analytics from real traffic — on the in-memory backends, and with an
 * API process and a worker process (each with its own recorder) sharing a SQLite file or Redis;
 * and the last-minute counts of GET /api/v1/queues, which come from the same recorders.
 * Recorders are flushed explicitly (as their timer and shutdown do), so nothing waits on time.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { factory as redisQueues } from '../../src/adapters/queue/redis/index.js';
import { factory as sqliteQueues } from '../../src/adapters/queue/sqlite/index.js';
import { factory as redisStores } from '../../src/adapters/result-store/redis/index.js';
import { factory as sqliteStores } from '../../src/adapters/result-store/sqlite/index.js';
import { buildApi } from '../../src/api/build-api.js';
import { HOUR_MS, hourOf } from '../../src/core/analytics/hourly.js';
import { HqmEvents } from '../../src/core/events.js';
import { isTerminal } from '../../src/core/request/lifecycle.js';
import { AnalyticsRecorder } from '../../src/observability/analytics.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { QueueBackend } from '../../src/ports/queue-backend.js';
import type { ResultStore } from '../../src/ports/result-store.js';
import { builtinProcessor } from '../../src/worker/processors/builtin.js';
import { WorkerPool } from '../../src/worker/runner.js';
import { apiOptions, QUEUE, testApi } from '../helpers/api.js';
import { apiAuth, bearer, KEYS } from '../helpers/auth.js';
import { gateway } from '../helpers/gateway.js';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix } from '../helpers/redis.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const RETENTION_MS = 30 * 24 * HOUR_MS;
const context = { logger: silentLogger };

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A recorder as the composition root wires it: backend queue names count as "default". */
function recorderFor(events: HqmEvents, store: ResultStore): AnalyticsRecorder {
  const recorder = new AnalyticsRecorder(events, {
    write: (d) => store.analytics.add(d, RETENTION_MS),
    writeMinutes: (c) => store.analytics.addMinutes(c),
    queueOf: (q) => (q === QUEUE ? 'default' : q),
  });
  cleanups.push(() => recorder.close());
  return recorder;
}

interface StatsBody {
  since: string;
  until: string;
  queue: string | null;
  total: Record<string, unknown>;
  hours: Array<Record<string, unknown> & { hour: string }>;
}

describe('GET /api/v1/stats (memory)', () => {
  it('counts submitted, completed, failed, dead-lettered and cancelled requests of the current hour, with latency quantiles', async () => {
    const g = await gateway();
    const recorder = recorderFor(g.events, g.store);
    const ids = await Promise.all([g.submit({ operation: 'echo' }), g.submit({ operation: 'echo' }), g.submit({ operation: 'error' })]);
    await Promise.all(ids.map((id) => g.finished(id)));
    await g.pool.stop();
    const pending = await g.submit({ operation: 'echo' });
    expect((await g.app.inject({ method: 'DELETE', url: `/api/v1/requests/${pending}` })).statusCode).toBe(200);
    await recorder.flush();

    const res = await g.app.inject({ method: 'GET', url: '/api/v1/stats' });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<StatsBody>();
    // The 24 whole hours up to the end of the current one (totals: the test may straddle an hour).
    expect(body.hours).toHaveLength(24);
    expect(Date.parse(body.until) - Date.parse(body.since)).toBe(24 * HOUR_MS);
    expect(Date.parse(body.until) % HOUR_MS).toBe(0);
    expect(body.total).toMatchObject({ submitted: 4, completed: 2, failed: 1, dead_lettered: 1, cancelled: 1, timed_out: 0 });
    expect(body.total.queue_wait_ms).toMatchObject({ count: 3, p50: expect.any(Number), p95: expect.any(Number), p99: expect.any(Number) });
    expect(body.total.processing_time_ms).toMatchObject({ count: 3 });
    expect(body.hours.reduce((n, h) => n + (h.submitted as number), 0)).toBe(4);
    expect(body.hours.at(0)).toMatchObject({ submitted: 0, queue_wait_ms: { count: 0, p50: null } });

    const other = await g.app.inject({ method: 'GET', url: '/api/v1/stats?queue=batched' });
    expect(other.json<StatsBody>().total).toMatchObject({ submitted: 0, completed: 0 });
    const named = await g.app.inject({ method: 'GET', url: '/api/v1/stats?queue=default' });
    expect(named.json<StatsBody>()).toMatchObject({ queue: 'default', total: { submitted: 4 } });
  });

  it('counts a PENDING request that a read finds past its deadline as timed out, once', async () => {
    const g = await gateway();
    const recorder = recorderFor(g.events, g.store);
    await g.pool.stop(); // nobody consumes: only a read can say it timed out
    const id = await g.submit({ operation: 'echo' }, { timeout: 0.05 });
    await waitFor(async () => (await g.app.inject({ method: 'GET', url: `/api/v1/status/${id}` })).json<{ status: string }>().status === 'TIMEOUT', { what: 'the read to settle it' });
    // Reading it again changes nothing more.
    expect((await g.app.inject({ method: 'GET', url: `/api/v1/response/${id}` })).json<{ status: string }>().status).toBe('TIMEOUT');
    await recorder.flush();
    const body = (await g.app.inject({ method: 'GET', url: '/api/v1/stats' })).json<StatsBody>();
    expect(body.total).toMatchObject({ submitted: 1, timed_out: 1, completed: 0 });
  });

  it('answers the hours asked for, widened to whole hours', async () => {
    const api = await testApi();
    const hour = hourOf(Date.now()) - 5 * HOUR_MS;
    await api.store.analytics.add([{ hour, queue: 'default', fields: { completed: 7 } }], RETENTION_MS);
    const since = new Date(hour + 10 * 60_000).toISOString(); // 10 minutes into the hour: its hour counts whole
    const until = new Date(hour + 2 * HOUR_MS).toISOString();
    const res = await api.app.inject({ method: 'GET', url: `/api/v1/stats?since=${since}&until=${until}` });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<StatsBody>();
    expect(body.since).toBe(new Date(hour).toISOString());
    expect(body.hours.map((h) => h.completed)).toEqual([7, 0]);
  });

  it('refuses a bad range with 422 naming the field, and answers nothing older than the retention', async () => {
    const api = await testApi({ analyticsRetentionMs: 2 * HOUR_MS });
    const bad = async (query: string, path: string): Promise<void> => {
      const res = await api.app.inject({ method: 'GET', url: `/api/v1/stats?${query}` });
      expect(res.statusCode, query).toBe(422);
      expect(res.json<{ code: string; detail: Array<{ loc: string[] }> }>()).toMatchObject({ code: 'HQM_ERR_VALIDATION' });
      expect(JSON.stringify(res.json()), query).toContain(path);
    };
    await bad('since=yesterday', 'since');
    await bad('until=1', 'until');
    await bad('since=2030-01-02T10:00:00Z&until=2030-01-02T09:00:00Z', 'since');
    await bad('since=2030-01-01T00:00:00Z&until=2030-03-01T00:00:00Z', 'since');
    await bad('queue=', 'queue');
    await bad('limit=5', 'limit');
    const old = await api.app.inject({ method: 'GET', url: '/api/v1/stats?since=2020-01-01T00:00:00Z&until=2020-01-02T00:00:00Z' });
    expect(old.statusCode).toBe(200);
    expect(old.json<StatsBody>().hours).toEqual([]);
    // 24 hours asked for, 2 kept: the answer starts at the retention.
    expect((await api.app.inject({ method: 'GET', url: '/api/v1/stats' })).json<StatsBody>().hours).toHaveLength(3);
  });

  it('is for admins only: the counters are every tenant’s', async () => {
    const api = await testApi({ auth: apiAuth() });
    expect((await api.app.inject({ method: 'GET', url: '/api/v1/stats' })).statusCode).toBe(401);
    expect((await api.app.inject({ method: 'GET', url: '/api/v1/stats', headers: bearer(KEYS.acme) })).statusCode).toBe(403);
    expect((await api.app.inject({ method: 'GET', url: '/api/v1/stats', headers: bearer(KEYS.acmeReader) })).statusCode).toBe(403);
    expect((await api.app.inject({ method: 'GET', url: '/api/v1/stats', headers: bearer(KEYS.admin) })).statusCode).toBe(200);
  });

  it('is in the OpenAPI document', async () => {
    const api = await testApi();
    const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, { get?: { parameters?: Array<{ name: string }> } }> }>();
    expect(doc.paths['/api/v1/stats']?.get?.parameters?.map((p) => p.name).sort()).toEqual(['queue', 'since', 'until']);
  });
});

interface Backends {
  queue: QueueBackend;
  store: ResultStore;
}

/** An API process and a worker process on one shared backend, each counting its own events. */
async function splitProcesses(open: () => Promise<Backends>) {
  const [apiSide, workerSide] = [await open(), await open()];
  for (const side of [apiSide, workerSide]) cleanups.push(async () => Promise.all([side.queue.close(), side.store.close()]));
  const apiEvents = new HqmEvents();
  const workerEvents = new HqmEvents();
  const app = await buildApi({ queue: apiSide.queue, store: apiSide.store, events: apiEvents, options: apiOptions() });
  cleanups.push(() => app.close());
  const pool = new WorkerPool(
    { queue: workerSide.queue, store: workerSide.store, events: workerEvents, processor: builtinProcessor, logger: silentLogger },
    { queueName: QUEUE, concurrency: 2, visibilityTimeoutMs: 30_000, shutdownGraceMs: 5_000, workerId: 'w', retry: { maxAttempts: 1, baseMs: 10, maxMs: 50 }, defaultTimeoutSeconds: 300, ttlMs: 60_000 },
  );
  cleanups.push(() => pool.stop());
  pool.start();
  const recorders = [recorderFor(apiEvents, apiSide.store), recorderFor(workerEvents, workerSide.store)];
  return { app, store: apiSide.store, recorders };
}

async function trafficAcrossProcesses(open: () => Promise<Backends>): Promise<void> {
  const { app, store, recorders } = await splitProcesses(open);
  const submit = async (payload: object): Promise<string> => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload } });
    expect(res.statusCode, res.body).toBe(202);
    return res.json<{ correlation_id: string }>().correlation_id;
  };
  const ids = await Promise.all([submit({ operation: 'echo' }), submit({ operation: 'reverse', text: 'ab' }), submit({ operation: 'error' })]);
  for (const id of ids) {
    await waitFor(async () => {
      const record = await store.get(id);
      return record !== undefined && isTerminal(record.status);
    }, { what: `request ${id} to finish` });
  }
  // The worker's outcome events follow its store writes: wait until it has counted all three.
  await waitFor(async () => {
    await Promise.all(recorders.map((r) => r.flush()));
    const body = (await app.inject({ method: 'GET', url: '/api/v1/stats' })).json<StatsBody>();
    return (body.total.completed as number) + (body.total.failed as number) === 3;
  }, { what: 'the worker’s counts to be written' });
  const body = (await app.inject({ method: 'GET', url: '/api/v1/stats?queue=default' })).json<StatsBody>();
  expect(body.total).toMatchObject({ submitted: 3, completed: 2, failed: 1, dead_lettered: 1, queue_wait_ms: { count: 3 }, processing_time_ms: { count: 3 } });
}

describe('GET /api/v1/stats across processes', () => {
  it('SQLite: the API process and the worker process add to the same counters in the file', async () => {
    const path = join(tempDir(), 'stats.db');
    await trafficAcrossProcesses(async () => ({ queue: await sqliteQueues.create({ path }, context), store: await sqliteStores.create({ path }, context) }));
  });

  it('Redis: the API process and the worker process add to the same counters', async (ctx) => {
    const missing = await requireRedis();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const prefix = testPrefix();
    cleanups.push(() => deleteKeys(prefix, { url: REDIS_URL }));
    const options = { redis_url: REDIS_URL, key_prefix: prefix };
    await trafficAcrossProcesses(async () => ({ queue: await redisQueues.create(options, context), store: await redisStores.create(options, context) }));
  });
});

interface QueuesBody {
  queues: Array<{ name: string; completed_last_minute: number; failed_last_minute: number }>;
  window: { seconds: number; scope: string };
}

/** Two echoes and an error through the worker process; the API process's /queues must show them. */
async function lastMinuteAcrossProcesses(open: () => Promise<Backends>): Promise<void> {
  const { app, recorders } = await splitProcesses(open);
  const queues = async (): Promise<QueuesBody> => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/queues' });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<QueuesBody>();
  };
  const before = await queues();
  expect(before.window).toEqual({ seconds: 60, scope: 'deployment' });
  expect(before.queues).toEqual([expect.objectContaining({ name: 'default', completed_last_minute: 0, failed_last_minute: 0 })]);
  for (const payload of [{ operation: 'echo' }, { operation: 'echo' }, { operation: 'error' }]) {
    expect((await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload } })).statusCode).toBe(202);
  }
  // The API process ran none of them: only the worker process's recorder can have counted them.
  await waitFor(async () => {
    await Promise.all(recorders.map((r) => r.flush()));
    const q = (await queues()).queues[0];
    return q !== undefined && q.completed_last_minute + q.failed_last_minute === 3;
  }, { what: 'the worker’s outcomes to reach the API process' });
  expect((await queues()).queues[0]).toMatchObject({ completed_last_minute: 2, failed_last_minute: 1 });
}

describe('GET /api/v1/queues across processes', () => {
  it('SQLite: the API process answers the last minute of the worker process that shares its file', async () => {
    const path = join(tempDir(), 'queues.db');
    await lastMinuteAcrossProcesses(async () => ({ queue: await sqliteQueues.create({ path }, context), store: await sqliteStores.create({ path }, context) }));
  });

  it('Redis: the API process answers the last minute of the worker process', async (ctx) => {
    const missing = await requireRedis();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const prefix = testPrefix();
    cleanups.push(() => deleteKeys(prefix, { url: REDIS_URL }));
    const options = { redis_url: REDIS_URL, key_prefix: prefix };
    await lastMinuteAcrossProcesses(async () => ({ queue: await redisQueues.create(options, context), store: await redisStores.create(options, context) }));
  });
});

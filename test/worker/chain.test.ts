/** Chaining at the worker: a completion submits its follow-up once, carrying its result; nothing else chains. */
import { describe, expect, it } from 'vitest';
import { MemoryQueue } from '../../src/adapters/queue/memory/index.js';
import { MemoryResultStore } from '../../src/adapters/result-store/memory/index.js';
import { followUpSubmitter } from '../../src/app/follow-ups.js';
import { HqmError } from '../../src/core/errors.js';
import { HqmEvents } from '../../src/core/events.js';
import { followUpIdOf } from '../../src/core/request/chain.js';
import { encodeEnvelope, normalizeMetadata } from '../../src/core/request/envelope.js';
import { newCorrelationId } from '../../src/core/request/ids.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { FollowUps } from '../../src/worker/chain.js';
import { PermanentError, type Processor } from '../../src/worker/processor.js';
import { WorkerPool } from '../../src/worker/runner.js';
import { apiOptions, QUEUE } from '../helpers/api.js';
import { gateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';

/** Answers what it was given, so a follow-up's payload can be read from its result. */
const mirror: Processor = async (request) => {
  if (request.payload.fail === true) throw new PermanentError('asked to fail');
  return { seen: request.payload, step: request.payload.step ?? null };
};

describe('metadata.then at the worker', () => {
  it('submits the follow-up when the request completes, with the result as payload.previous, and links the two', async () => {
    const g = await gateway({ processor: mirror });
    const id = await g.submit({ step: 1 }, { then: { payload: { step: 2 }, metadata: { priority: 'high' } } });
    const nextId = followUpIdOf(id);
    expect(await g.finished(id)).toMatchObject({ status: 'COMPLETED', outcome: { nextId } });
    const next = await g.finished(nextId);
    expect(next).toMatchObject({ status: 'COMPLETED', priority: 5, outcome: { result: { seen: { step: 2, previous: { seen: { step: 1 }, step: 1 } }, step: 2 } } });
    expect(next.outcome?.nextId).toBeUndefined();

    const response = (await g.app.inject({ url: `/api/v1/response/${id}` })).json();
    const status = (await g.app.inject({ url: `/api/v1/status/${id}` })).json();
    expect(response.next_id).toBe(nextId);
    expect(status.next_id).toBe(nextId);
    expect((await g.app.inject({ url: `/api/v1/response/${nextId}` })).json()).not.toHaveProperty('next_id');
    const notes = (await g.store.events(id)).filter((e) => e.note !== undefined);
    expect(notes).toEqual([expect.objectContaining({ to: 'COMPLETED', note: { kind: 'chained', detail: { next_id: nextId } } })]);
  });

  it('runs a chain of three, each step one request', async () => {
    const g = await gateway({ processor: mirror });
    const id = await g.submit({ step: 1 }, { then: { payload: { step: 2 }, metadata: { then: { payload: { step: 3 } } } } });
    const second = followUpIdOf(id);
    const third = followUpIdOf(second);
    expect(await g.finished(third)).toMatchObject({ status: 'COMPLETED', outcome: { result: { step: 3, seen: { previous: { step: 2 } } } } });
    expect((await g.store.get(second))?.outcome?.nextId).toBe(third);
    expect(await g.store.get(followUpIdOf(third))).toBeUndefined();
  });

  it('passes the result itself as the payload when then has none', async () => {
    const g = await gateway({ processor: mirror });
    const id = await g.submit({ step: 1 }, { then: {} });
    expect(await g.finished(followUpIdOf(id))).toMatchObject({ outcome: { result: { seen: { seen: { step: 1 }, step: 1 }, step: 1 } } });
  });

  it('does not chain a request that fails', async () => {
    const g = await gateway({ processor: mirror, worker: { retry: { maxAttempts: 1, baseMs: 0, maxMs: 0 } } });
    const id = await g.submit({ fail: true }, { then: { payload: { step: 2 } } });
    expect(await g.finished(id)).toMatchObject({ status: 'FAILED' });
    expect(await g.store.get(followUpIdOf(id))).toBeUndefined();
    expect((await g.store.events(id)).some((e) => e.note !== undefined)).toBe(false);
  });

  it('submits the follow-up once when the completion is applied again after its submit seemed to fail', async () => {
    const queue = new MemoryQueue(silentLogger);
    const store = new MemoryResultStore();
    const events = new HqmEvents();
    const real = followUpSubmitter({ queue, store, events }, apiOptions());
    let submits = 0;
    // The follow-up is stored, but its worker hears of an outage (a lost reply): the delivery is
    // handed back, and its redelivery finds the request COMPLETED.
    const lossy: FollowUps = {
      check: real.check,
      submit: async (followUp) => {
        submits += 1;
        await real.submit(followUp);
        if (submits === 1) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'reply lost');
      },
    };
    const runs = new Map<string, number>();
    const counting: Processor = async (request, ctx) => {
      runs.set(ctx.idempotencyKey, (runs.get(ctx.idempotencyKey) ?? 0) + 1);
      return mirror(request, ctx);
    };
    const pool = new WorkerPool(
      { queue, store, events, processor: counting, logger: silentLogger, followUps: lossy },
      { queueName: QUEUE, concurrency: 2, visibilityTimeoutMs: 30_000, shutdownGraceMs: 1_000, workerId: 'w', retry: { maxAttempts: 3, baseMs: 0, maxMs: 0 }, defaultTimeoutSeconds: 60, ttlMs: 60_000 },
    );
    try {
      const id = newCorrelationId();
      const envelope = { v: 1, correlation_id: id, timestamp: new Date().toISOString(), payload: { step: 1 }, headers: {}, metadata: normalizeMetadata({ then: { payload: { step: 2 } } }, { timeout: 60 }), request: null, traceparent: null, tenant: 'acme' } as const;
      await store.create({ id, queue: 'default', priority: 0, submittedAt: Date.now(), deadlineAt: Date.now() + 60_000, ttlMs: 60_000, tenant: 'acme' });
      await queue.publish(QUEUE, { body: encodeEnvelope(envelope) });
      pool.start();
      const nextId = followUpIdOf(id);
      await waitFor(async () => (await store.get(nextId))?.status === 'COMPLETED', { what: 'the follow-up to complete' });
      // The redelivery of the completed request has been acknowledged: nothing is left in the queue.
      await waitFor(async () => (await queue.stats(QUEUE)).depth + (await queue.stats(QUEUE)).inFlight === 0, { what: 'the queue to drain' });
      expect(runs.get(id)).toBe(1);
      expect(runs.get(nextId)).toBe(1);
      expect((await store.get(nextId))?.tenant).toBe('acme');
      // Not submitted again, and the trail says chained once.
      expect(submits).toBe(1);
      expect((await store.events(id)).filter((e) => e.note?.kind === 'chained')).toHaveLength(1);
    } finally {
      await pool.stop();
      await queue.close();
      await store.close();
    }
  });

  it('notes a then that the current configuration refuses, and completes without a follow-up', async () => {
    const g = await gateway({ processor: mirror });
    // An outside producer's envelope: never checked by the API.
    const id = newCorrelationId();
    const envelope = { v: 1, correlation_id: id, timestamp: new Date().toISOString(), payload: {}, headers: {}, metadata: normalizeMetadata({ then: { queue: 'gone' } }, { timeout: 60 }), request: null, traceparent: null } as const;
    await g.store.create({ id, queue: 'default', priority: 0, submittedAt: Date.now(), deadlineAt: Date.now() + 60_000, ttlMs: 60_000 });
    await g.queue.publish(QUEUE, { body: encodeEnvelope(envelope) });
    const record = await g.finished(id);
    expect(record.status).toBe('COMPLETED');
    expect(record.outcome?.nextId).toBeUndefined();
    await waitFor(async () => (await g.store.events(id)).find((e) => e.note !== undefined), { what: 'the note' });
    const [note] = (await g.store.events(id)).filter((e) => e.note !== undefined);
    expect(note?.note).toEqual({ kind: 'chain_refused', detail: { issues: [{ path: 'body.metadata.then.queue', message: expect.stringContaining('unknown queue "gone"') }] } });
    expect(await g.store.get(followUpIdOf(id))).toBeUndefined();
  });
});

import { describe, expect, it, vi } from 'vitest';
import { HqmError } from '../../src/core/errors.js';
import { HqmEvents } from '../../src/core/events.js';
import { encodeEnvelope, normalizeMetadata, type Envelope } from '../../src/core/request/envelope.js';
import { newCorrelationId } from '../../src/core/request/ids.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { ResultStore } from '../../src/ports/result-store.js';
import { runAttempt, type AttemptDeps } from '../../src/worker/attempt.js';
import { PermanentError, type Processor } from '../../src/worker/processor.js';
import { QUEUE } from '../helpers/api.js';
import { gateway } from '../helpers/gateway.js';
import { deferred, waitFor } from '../helpers/wait.js';

/** What runAttempt needs, for driving attempts by hand against a gateway's store. */
function attemptDeps(store: ResultStore, options: { processor: Processor; maxAttempts: number; events?: HqmEvents }): AttemptDeps {
  const retry = { maxAttempts: options.maxAttempts, baseMs: 0, maxMs: 0 };
  return { store, processor: options.processor, events: options.events ?? new HqmEvents(), logger: silentLogger, queueName: QUEUE, workerId: 'w', retry, defaultTimeoutSeconds: 60, ttlMs: 60_000, idSecret: 'test-secret', settle: (p) => void p };
}

function envelopeFor(id: string, payload: Record<string, unknown>, submittedAt = Date.now()): Envelope {
  return { v: 1, correlation_id: id, timestamp: new Date(submittedAt).toISOString(), payload, headers: {}, metadata: normalizeMetadata({}, { timeout: 60 }), request: null, traceparent: null };
}

describe('worker pool', () => {
  it('completes a request with the processor result and an audit trail of each step', async () => {
    const g = await gateway();
    const id = await g.submit({ operation: 'reverse', data: 'stressed' });
    const record = await g.finished(id);
    expect(record).toMatchObject({ status: 'COMPLETED', attempt: 1, workerId: 'test-worker', outcome: { result: { output: 'desserts' }, error: null } });
    expect((await g.store.events(id)).map((e) => e.to)).toEqual(['PENDING', 'PROCESSING', 'COMPLETED']);
    expect(await g.queue.stats(QUEUE)).toMatchObject({ depth: 0, inFlight: 0 });
  });

  it('retries a retryable failure with backoff and completes when it succeeds', async () => {
    let calls = 0;
    const flaky: Processor = async () => {
      calls += 1;
      if (calls < 3) throw new Error(`transient ${calls}`);
      return { ok: true };
    };
    // The jitter drawn at its top: each backoff is then just under base·2^(attempt-1).
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    try {
      const g = await gateway({ processor: flaky, worker: { retry: { maxAttempts: 3, baseMs: 100, maxMs: 1000 } } });
      const delays: number[] = [];
      g.events.on('request:retrying', ({ delayMs }) => delays.push(delayMs));
      const id = await g.submit({});
      expect(await g.finished(id)).toMatchObject({ status: 'COMPLETED', attempt: 3, outcome: { result: { ok: true } } });
      const events = await g.store.events(id);
      const trail = events.map((e) => `${e.to}:${e.attempt}${e.error === null ? '' : `:${e.error}`}`);
      expect(trail).toEqual(['PENDING:0', 'PROCESSING:1', 'PENDING:1:transient 1', 'PROCESSING:2', 'PENDING:2:transient 2', 'PROCESSING:3', 'COMPLETED:3']);
      expect(delays).toEqual([99, 199]);
      // Each retry waited out its backoff (the margin absorbs timer and clock granularity).
      const at = (i: number): number => events[i]?.at ?? Number.NaN;
      expect(at(3) - at(2)).toBeGreaterThanOrEqual(99 - 25);
      expect(at(5) - at(4)).toBeGreaterThanOrEqual(199 - 25);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('fails after the last attempt, dead-letters the message and keeps every attempt’s error', async () => {
    const g = await gateway({ processor: async ({ correlation_id }) => Promise.reject(new Error(`down for ${correlation_id.slice(0, 4)}`)) });
    const id = await g.submit({});
    const record = await g.finished(id);
    expect(record).toMatchObject({ status: 'FAILED', attempt: 3, outcome: { error: `down for ${id.slice(0, 4)}` } });
    const failures = (await g.store.events(id)).filter((e) => e.error !== null);
    expect(failures.map((e) => e.attempt)).toEqual([1, 2, 3]);
    const [dead] = await g.queue.deadLetters(QUEUE, { limit: 5 });
    expect(dead).toMatchObject({ attempts: 3, reason: `down for ${id.slice(0, 4)}` });
    expect(JSON.parse(dead!.body).correlation_id).toBe(id);
  });

  it('does not retry a permanent failure', async () => {
    let calls = 0;
    const g = await gateway({
      processor: async () => {
        calls += 1;
        throw new PermanentError('bad input');
      },
    });
    const id = await g.submit({});
    expect(await g.finished(id)).toMatchObject({ status: 'FAILED', attempt: 1, outcome: { error: 'bad input' } });
    expect(calls).toBe(1);
  });

  it('ends in TIMEOUT when the deadline passes, aborting the processor', async () => {
    const aborted = deferred<unknown>();
    const g = await gateway({
      processor: async (_request, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            aborted.resolve(ctx.signal.reason);
            reject(new Error('aborted'));
          });
        }),
    });
    const id = await g.submit({}, { timeout: 0.2 });
    expect(await g.finished(id)).toMatchObject({ status: 'TIMEOUT', outcome: { error: expect.stringMatching(/deadline/) } });
    expect(await aborted.promise).toMatchObject({ code: 'HQM_ERR_DEADLINE_EXCEEDED' });
  });

  it('ends in TIMEOUT even when the processor ignores the abort signal', async () => {
    const g = await gateway({ processor: () => new Promise(() => undefined) });
    const id = await g.submit({}, { timeout: 0.2 });
    expect(await g.finished(id)).toMatchObject({ status: 'TIMEOUT' });
  });

  it('ends in TIMEOUT when a processor blocks the event loop past the deadline and then returns', async () => {
    const g = await gateway({
      processor: async (request) => {
        // Spins until the deadline has passed: the abort timer cannot fire meanwhile.
        const deadline = Date.parse(request.timestamp) + request.metadata.timeout * 1000;
        while (Date.now() <= deadline) {
          /* busy */
        }
        return 'too late';
      },
    });
    const id = await g.submit({}, { timeout: 0.2 });
    expect(await g.finished(id)).toMatchObject({ status: 'TIMEOUT', outcome: { result: null } });
  });

  it('stores a processor result that is not JSON as a clear permanent failure', async () => {
    const g = await gateway({ processor: async () => ({ big: 10n }) });
    const id = await g.submit({});
    expect(await g.finished(id)).toMatchObject({ status: 'FAILED', attempt: 1, outcome: { error: expect.stringMatching(/not JSON/) } });
  });

  it('runs a processor that is not async, and survives progress() called without await on a failing store', async () => {
    const g = await gateway({
      processor: ((_request: unknown, ctx: { progress(n: number): Promise<void> }) => {
        void ctx.progress(10);
        return { sync: true };
      }) as unknown as Processor,
    });
    let progressWrites = 0;
    g.store.setProgress = async () => {
      progressWrites += 1;
      return Promise.reject(new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'store down'));
    };
    const id = await g.submit({});
    expect(await g.finished(id)).toMatchObject({ status: 'COMPLETED', outcome: { result: { sync: true } } });
    // The failing write did happen: the request survived it rather than never meeting it.
    expect(progressWrites).toBe(1);
  });

  it('reports progress while a request runs', async () => {
    const release = deferred();
    const g = await gateway({
      processor: async (_request, ctx) => {
        await ctx.progress(42);
        await release.promise;
        return 'done';
      },
    });
    const id = await g.submit({});
    await waitFor(async () => (await g.store.get(id))?.progress === 42, { what: 'progress' });
    const res = await g.app.inject({ method: 'GET', url: `/api/v1/status/${id}` });
    expect(res.json()).toMatchObject({ status: 'PROCESSING', progress: 42 });
    release.resolve();
    expect(await g.finished(id)).toMatchObject({ status: 'COMPLETED' });
  });

  it('dead-letters a message that is not an envelope without processing it', async () => {
    let calls = 0;
    const g = await gateway({
      processor: async () => {
        calls += 1;
        return null;
      },
    });
    await g.queue.publish(QUEUE, { body: 'not json at all' });
    await waitFor(async () => (await g.queue.stats(QUEUE)).deadLettered === 1, { what: 'dead letter' });
    expect(calls).toBe(0);
  });

  it('acknowledges a duplicate delivery of a finished request without running it again', async () => {
    let calls = 0;
    const g = await gateway({
      processor: async () => {
        calls += 1;
        return calls;
      },
    });
    const id = await g.submit({});
    await g.finished(id);
    const record = await g.store.get(id);
    // The same envelope delivered again, as after a crash between the result write and the ack.
    const envelope = envelopeFor(id, {});
    await g.queue.publish(QUEUE, { body: encodeEnvelope(envelope) });
    await waitFor(async () => (await g.queue.stats(QUEUE)).depth === 0 && (await g.queue.stats(QUEUE)).inFlight === 0, { what: 'duplicate acknowledged' });
    expect(calls).toBe(1);
    expect(await g.store.get(id)).toEqual(record);
    // Acknowledged, not dead-lettered (which also empties the queue).
    expect((await g.queue.stats(QUEUE)).deadLettered).toBe(0);
  });

  it('completes a request whose outcome could not be written while the store was unreachable', async () => {
    // A short lease, so the take-over below does not wait the default 30 s.
    const g = await gateway({ worker: { visibilityTimeoutMs: 600 } });
    const transition = g.store.transition.bind(g.store);
    let failed = 0;
    // The store goes away after the claim applied: the outcome write fails, and so does the
    // next write (the worker handing the record back); then the store is back. The record is
    // left PROCESSING under attempt 1 with a lease nobody renews: once it lapses, the
    // redelivery takes it over as attempt 2 (D130).
    g.store.transition = async (request) => {
      if (failed < 2 && (request.to === 'COMPLETED' || failed > 0)) {
        failed += 1;
        throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'store unreachable');
      }
      return transition(request);
    };
    const id = await g.submit({ operation: 'echo', data: 'survives' });
    expect(await g.finished(id)).toMatchObject({ status: 'COMPLETED', attempt: 2, outcome: { result: { output: 'survives' } } });
    expect(failed).toBe(2);
  });

  it('hands the record back when the outcome write failed, so the redelivery runs it at once as the next attempt', async () => {
    const g = await gateway();
    const transition = g.store.transition.bind(g.store);
    let failed = 0;
    // Only the outcome write fails: the hand-back lands, and the default 30 s lease does not hold the redelivery up.
    g.store.transition = async (request) => {
      if (failed < 1 && request.to === 'COMPLETED') {
        failed += 1;
        throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'store unreachable');
      }
      return transition(request);
    };
    const id = await g.submit({ operation: 'echo', data: 'again' });
    expect(await g.finished(id, 10_000)).toMatchObject({ status: 'COMPLETED', attempt: 2 });
    expect((await g.store.events(id)).map((e) => `${e.to}:${e.attempt}`)).toEqual(['PENDING:0', 'PROCESSING:1', 'PENDING:1', 'PROCESSING:2', 'COMPLETED:2']);
  });

  it('takes over a record left PROCESSING under the same attempt, as the next attempt', async () => {
    const g = await gateway();
    await g.pool.stop();
    const id = newCorrelationId();
    const now = Date.now();
    await g.store.create({ id, queue: 'default', priority: 0, submittedAt: now, deadlineAt: null, ttlMs: 60_000 });
    // A claim that landed although its worker saw it fail and released the message uncounted.
    await g.store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1, workerId: 'gone' });
    const envelope = envelopeFor(id, { operation: 'echo', data: 'handed over' }, now);
    await g.queue.publish(QUEUE, { body: encodeEnvelope(envelope) });
    const deps = attemptDeps(g.store, { processor: async () => 'handed over', maxAttempts: 3 });
    const live = g.queue.consume(QUEUE, { concurrency: 1, visibilityTimeoutMs: 30_000 }, (d) => runAttempt(deps, d, new AbortController()));
    expect(await g.finished(id)).toMatchObject({ status: 'COMPLETED', attempt: 2, workerId: 'w' });
    await live.stop();
  });

  it('runs a request once when a duplicate of its message arrives while the first copy runs (D130)', async () => {
    let runs = 0;
    const running = deferred();
    const finish = deferred();
    const g = await gateway({
      // A short lease (renewed by the heartbeat while the first copy runs), so the duplicate looks again soon.
      worker: { concurrency: 4, visibilityTimeoutMs: 1_000 },
      processor: async () => {
        runs += 1;
        running.resolve();
        await finish.promise;
        return 'once';
      },
    });
    const id = await g.submit({ operation: 'echo', data: 'dup' });
    await running.promise;
    // The same message published again (an outside producer's retry, a broker's duplicate).
    const deferredEvents: string[] = [];
    g.events.on('request:deferred', (e) => {
      if (e.id === id) deferredEvents.push(e.reason);
    });
    const envelope = envelopeFor(id, { operation: 'echo', data: 'dup' });
    await g.queue.publish(QUEUE, { body: encodeEnvelope(envelope) });
    await waitFor(() => deferredEvents.includes('held'), { what: 'the duplicate to be handed back' });
    finish.resolve();
    expect(await g.finished(id)).toMatchObject({ status: 'COMPLETED', attempt: 1 });
    // The duplicate comes back when the lease it saw would have lapsed, finds the request finished and is acknowledged.
    await waitFor(async () => (await g.queue.stats(QUEUE)).depth === 0 && (await g.queue.stats(QUEUE)).inFlight === 0, { what: 'the duplicate to be acknowledged' });
    expect(runs).toBe(1);
  });

  it('dead-letters a message whose record never appeared, once the grace period is over', async () => {
    const g = await gateway();
    await g.pool.stop();
    const id = newCorrelationId();
    const envelope = envelopeFor(id, {});
    const events = new HqmEvents();
    const reasons: string[] = [];
    events.on('request:dead_lettered', ({ reason }) => reasons.push(reason));
    const settled: string[] = [];
    const delivery = (enqueuedAt: number) => ({
      messageId: 'm', body: encodeEnvelope(envelope), deliveryCount: 1, priority: 0, partitionKey: null, enqueuedAt,
      ack: async () => void settled.push('ack'),
      retry: async () => void settled.push('retry'),
      release: async () => void settled.push('release'),
      deadLetter: async (reason: string) => void settled.push(`dead-letter: ${reason}`),
      extend: async () => undefined,
    });
    const deps = attemptDeps(g.store, { processor: async () => 'never', maxAttempts: 3, events });
    await runAttempt(deps, delivery(Date.now()), new AbortController());
    await runAttempt(deps, delivery(Date.now() - 10 * 60_000), new AbortController());
    expect(settled).toEqual(['release', expect.stringMatching(/^dead-letter: no record exists/)]);
    expect(reasons).toEqual(['no_record']);
  });

  it('an orphan message (no record) looks again after half its age, 250 ms to 15 s: about fifteen looks in its grace, not one every 250 ms (D133)', async () => {
    const g = await gateway();
    await g.pool.stop();
    const envelope = envelopeFor(newCorrelationId(), {});
    const waits: Array<number | undefined> = [];
    const delivery = (age: number) => ({
      messageId: 'm', body: encodeEnvelope(envelope), deliveryCount: 1, priority: 0, partitionKey: null, enqueuedAt: Date.now() - age,
      ack: async () => void waits.push(-1),
      retry: async () => void waits.push(-2),
      release: async (delayMs?: number) => void waits.push(delayMs),
      deadLetter: async () => void waits.push(-3),
      extend: async () => undefined,
    });
    const deps = attemptDeps(g.store, { processor: async () => 'never', maxAttempts: 3 });
    for (const age of [0, 2_000, 10_000, 45_000]) await runAttempt(deps, delivery(age), new AbortController());
    // Math.floor(age / 2) of an age read a moment after enqueuedAt: allowed a few ms more.
    expect(waits[0]).toBe(250);
    expect(waits[1]).toBeGreaterThanOrEqual(1_000);
    expect(waits[1]).toBeLessThan(1_050);
    expect(waits[2]).toBeGreaterThanOrEqual(5_000);
    expect(waits[2]).toBeLessThan(5_050);
    expect(waits[3]).toBe(15_000);
  });

  it('gives up on a message whose workers kept dying, as FAILED with HQM_ERR_ATTEMPTS_EXHAUSTED', async () => {
    const g = await gateway();
    await g.pool.stop();
    const id = newCorrelationId();
    const now = Date.now();
    await g.store.create({ id, queue: 'default', priority: 0, submittedAt: now, deadlineAt: null, ttlMs: 60_000 });
    const envelope = envelopeFor(id, {}, now);
    await g.queue.publish(QUEUE, { body: encodeEnvelope(envelope) });
    // Two runs whose workers died: each claimed the record in the store and its lease lapsed.
    for (let i = 0; i < 2; i += 1) {
      const claim = await g.store.claim({ id, workerId: `doomed-${i}`, leaseMs: 1 });
      expect(claim.ok).toBe(true);
      const until = claim.ok ? claim.leaseUntil : 0;
      await waitFor(() => Date.now() > until, { what: 'the lease to lapse' });
    }
    const deps = attemptDeps(g.store, { processor: async () => 'never', maxAttempts: 2 });
    const live = g.queue.consume(QUEUE, { concurrency: 1, visibilityTimeoutMs: 30_000 }, (d) => runAttempt(deps, d, new AbortController()));
    // The store counted the runs, not the broker, which delivered the message once.
    expect(await g.finished(id)).toMatchObject({ status: 'FAILED', attempt: 3, outcome: { error: expect.stringMatching(/gave up after 2 runs/) } });
    await live.stop();
    expect((await g.queue.deadLetters(QUEUE, { limit: 1 }))[0]?.attempts).toBe(1);
  });

  describe('shutdown', () => {
    it('stops taking work and lets in-flight requests finish within the grace period', async () => {
      const started = deferred();
      const release = deferred();
      const g = await gateway({
        processor: async () => {
          started.resolve();
          await release.promise;
          return 'finished';
        },
      });
      const id = await g.submit({});
      await started.promise;
      const stopping = g.pool.stop();
      const later = await g.submit({});
      release.resolve();
      await stopping;
      expect(await g.store.get(id)).toMatchObject({ status: 'COMPLETED' });
      expect(await g.store.get(later)).toMatchObject({ status: 'PENDING' });
      expect((await g.queue.stats(QUEUE)).depth).toBe(1);
    });

    it('after the grace period releases unfinished requests for redelivery without counting the attempt', async () => {
      const started = deferred();
      const g = await gateway({
        worker: { shutdownGraceMs: 50 },
        processor: async (_request, ctx) => {
          started.resolve();
          return new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped'))));
        },
      });
      const id = await g.submit({});
      await started.promise;
      await g.pool.stop();
      expect(await g.store.get(id)).toMatchObject({ status: 'PENDING', error: expect.stringMatching(/released/) });
      expect(await g.queue.stats(QUEUE)).toMatchObject({ depth: 1, inFlight: 0 });
      const redelivered = deferred<number>();
      const sub = g.queue.consume(QUEUE, { concurrency: 1, visibilityTimeoutMs: 30_000 }, async (d) => redelivered.resolve(d.deliveryCount));
      expect(await redelivered.promise).toBe(1);
      await sub.stop();
    });
  });
});

describe('deadline while waiting', () => {
  it('ends a request whose deadline passed in the queue as TIMEOUT without running it', async () => {
    let calls = 0;
    const processor: Processor = async () => {
      calls += 1;
      return 'ran';
    };
    const g = await gateway({ processor });
    await g.pool.stop();
    const id = await g.submit({}, { timeout: 0.05 });
    // The deadline passes while nobody consumes.
    const deadline = (await g.store.get(id))?.deadlineAt ?? Number.NaN;
    await waitFor(() => Date.now() > deadline, { what: 'the deadline to pass' });
    const deps = attemptDeps(g.store, { processor, maxAttempts: 2 });
    const sub = g.queue.consume(QUEUE, { concurrency: 1, visibilityTimeoutMs: 30_000 }, (d) => runAttempt(deps, d, new AbortController()));
    expect(await g.finished(id)).toMatchObject({ status: 'TIMEOUT', outcome: { error: expect.stringMatching(/deadline/) } });
    await sub.stop();
    expect(calls).toBe(0);
    expect((await g.store.events(id)).map((e) => e.to)).toEqual(['PENDING', 'TIMEOUT']);
  });
});

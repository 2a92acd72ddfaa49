/**
 * The fused pair's conformance (ports/fused.ts): what a queue and store that fuse promise on top
 * of their own suites, and two views that run those suites through the fused operations.
 *
 * - `fusedQueueView(pair)` is the pair's queue with every publish made by a fused submit (with a
 *   record of its own) and every settle made by a fused finish, so describeQueueBackend checks
 *   the message half of both operations.
 * - `fusedStoreView(pair)` is the pair's store with every create made by a fused submit (with a
 *   message of its own) and every transition made by a fused finish, so describeResultStore
 *   checks the record half. Its finishes carry one delivery settled before the first of them: a
 *   stale delivery, whose settle changes nothing while the transition applies by the record
 *   alone, as it would in the two-port path.
 * - `describeFusedBackend` checks what only a pair can: atomicity, batching within one turn,
 *   and that both halves land together or not at all.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isHqmError } from '../core/errors.js';
import type { Status } from '../core/request/lifecycle.js';
import type { FusedBackend, Settlement } from '../ports/fused.js';
import type { Delivery, QueueBackend } from '../ports/queue-backend.js';
import type { RecordChange, ResultStore, TransitionRequest } from '../ports/result-store.js';
import { newRequest, outcome } from './fixtures.js';
import { deferred, sleep, waitFor } from './wait.js';

/** A queue and a store on one server, and their fused operations. */
export interface FusedPair {
  readonly queue: QueueBackend;
  readonly store: ResultStore;
  readonly fused: FusedBackend;
  /** Closes the queue and the store. */
  close(): Promise<void>;
}

export interface FusedHarness {
  /** Opens the queue (with these queue-section options) and the store on the same storage every time, fused. */
  open(options?: Readonly<Record<string, unknown>>): Promise<FusedPair>;
  /** Ends the pair as a crash would (connections dropped, nothing settled); absent: the case is skipped. */
  crash?(pair: FusedPair): Promise<void>;
}

const ACK: Settlement = { kind: 'ack' };

/** The pair's queue, publishing by fused submit and settling by fused finish. */
export function fusedQueueView(pair: FusedPair): QueueBackend {
  const { queue, fused } = pair;
  /** The record each published message was submitted with. */
  const records = new Map<string, string>();
  const finishing = (delivery: Delivery): Delivery => {
    const settle = async (settlement: Settlement): Promise<void> => {
      const id = records.get(delivery.messageId) ?? `no-record-${delivery.messageId}`;
      // An ending applies once (then conflicts), a hand-back never applies: both branches settle alike.
      const ends = settlement.kind === 'ack' || settlement.kind === 'deadLetter';
      const transition: Omit<TransitionRequest, 'tenantLimit'> = ends ? { id, from: ['PENDING'], to: 'CANCELLED', attempt: 0 } : { id, from: ['PROCESSING'], to: 'PENDING', attempt: 0 };
      await fused.finish(delivery, { transition, applied: settlement, otherwise: settlement });
    };
    return {
      ...delivery,
      ack: () => settle(ACK),
      retry: (delayMs) => settle({ kind: 'retry', delayMs }),
      release: (delayMs = 0) => settle({ kind: 'release', delayMs }),
      deadLetter: (reason) => settle({ kind: 'deadLetter', reason }),
      extend: (ms) => delivery.extend(ms),
    };
  };
  return {
    type: queue.type,
    capabilities: queue.capabilities,
    publish: async (name, message) => {
      const request = newRequest({ ttlMs: 600_000 });
      const { messageId } = await fused.submit({ request, queue: name, message });
      records.set(messageId, request.id);
      return { messageId };
    },
    consume: (name, options, handler) => queue.consume(name, options, (delivery) => handler(finishing(delivery))),
    stats: (name) => queue.stats(name),
    deadLetters: (name, options) => queue.deadLetters(name, options),
    browseDeadLetters: (name, options) => queue.browseDeadLetters(name, options),
    getDeadLetter: (name, id) => queue.getDeadLetter(name, id),
    removeDeadLetter: (name, id) => queue.removeDeadLetter(name, id),
    purgeDeadLetters: (name, before) => queue.purgeDeadLetters(name, before),
    replayDeadLetter: (name, id, message) => queue.replayDeadLetter(name, id, message),
    health: () => queue.health(),
    deploymentSecret: () => queue.deploymentSecret(),
    close: () => pair.close(),
  };
}

/** The pair's store, creating by fused submit and transitioning by fused finish (see the module comment). */
export async function fusedStoreView(pair: FusedPair): Promise<ResultStore> {
  const { queue, store, fused } = pair;
  const scratch = `hqm-fused-${randomUUID()}`;
  await queue.publish(scratch, { body: 'scratch' });
  const stale = await nextDelivery(queue, scratch);
  await fused.finish(stale, { transition: { id: `no-record-${randomUUID()}`, from: ['PENDING'], to: 'CANCELLED', attempt: 0 }, applied: ACK, otherwise: ACK });
  const view: ResultStore = {
    type: store.type,
    capabilities: store.capabilities,
    analytics: store.analytics,
    create: async (request) => (await fused.submit({ request, queue: scratch, message: { body: request.id } })).record,
    get: (id) => store.get(id),
    transition: async (request) => {
      // A claim under a tenant limit is the store's alone (FusedFinish.transition).
      if (request.tenantLimit !== undefined && request.tenantLimit !== null) return store.transition(request);
      return fused.finish(stale, { transition: request, applied: ACK, otherwise: ACK });
    },
    claim: (request) => store.claim(request),
    renewLease: (id, attempt, leaseMs) => store.renewLease(id, attempt, leaseMs),
    replay: (request) => store.replay(request),
    setProgress: (id, attempt, progress) => store.setProgress(id, attempt, progress),
    events: (id) => store.events(id),
    appendNote: (id, note) => store.appendNote(id, note),
    delete: (id) => store.delete(id),
    claimIdempotencyKey: (claim) => store.claimIdempotencyKey(claim),
    releaseIdempotencyKey: (scope, key, firstId) => store.releaseIdempotencyKey(scope, key, firstId),
    list: (query) => store.list(query),
    onChange: (listener) => store.onChange(listener),
    health: () => store.health(),
    close: () => pair.close(),
  };
  return store.rateWindows === undefined ? view : { ...view, rateWindows: store.rateWindows };
}

/** The next delivery of `name`, held (unsettled) by a subscription that is stopped once it has it. */
export async function nextDelivery(queue: QueueBackend, name: string, visibilityTimeoutMs = 30_000): Promise<Delivery> {
  const got = deferred<Delivery>();
  const hold = deferred();
  // The handler keeps its slot until the subscription stopped, so nothing else is claimed meanwhile.
  const subscription = queue.consume(name, { concurrency: 1, visibilityTimeoutMs }, async (delivery) => {
    got.resolve(delivery);
    await hold.promise;
  });
  try {
    return await Promise.race([got.promise, sleep(10_000).then(() => Promise.reject(new Error(`no delivery of ${name} within 10 s`)))]);
  } finally {
    await subscription.stop();
    hold.resolve();
  }
}

export function describeFusedBackend(name: string, makeHarness: () => Promise<FusedHarness | { skip: string }>): void {
  describe(`FusedBackend conformance: ${name}`, () => {
    let harness: FusedHarness;
    let skipReason: string | undefined;
    const opened: FusedPair[] = [];

    beforeAll(async () => {
      const made = await makeHarness();
      if ('skip' in made) skipReason = made.skip;
      else harness = made;
    });

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((p) => p.close()));
    });

    async function open(options?: Readonly<Record<string, unknown>>): Promise<FusedPair> {
      const pair = await harness.open(options);
      opened.push(pair);
      return pair;
    }

    function test(title: string, body: (ctx: { queue: string }) => Promise<void>, needs?: (h: FusedHarness) => string | undefined): void {
      it(title, async (ctx) => {
        if (skipReason !== undefined) return ctx.skip(skipReason);
        const missing = needs?.(harness);
        if (missing !== undefined) return ctx.skip(`${name} lacks ${missing}`);
        await body({ queue: `hqm-test-${randomUUID()}` });
      });
    }

    const empty = async (q: QueueBackend, queue: string): Promise<boolean> => {
      const stats = await q.stats(queue);
      return stats.depth === 0 && stats.inFlight === 0 && stats.delayed === 0;
    };

    /** A submitted request, delivered and claimed: what a worker holds when it finishes. */
    async function running(pair: FusedPair, queue: string, options: { visibilityTimeoutMs?: number; leaseMs?: number } = {}): Promise<{ id: string; delivery: Delivery; attempt: number }> {
      const request = newRequest();
      await pair.fused.submit({ request, queue, message: { body: JSON.stringify({ id: request.id }) } });
      const delivery = await nextDelivery(pair.queue, queue, options.visibilityTimeoutMs);
      const claim = await pair.store.claim({ id: request.id, workerId: 'w1', leaseMs: options.leaseMs ?? 30_000 });
      if (!claim.ok) throw new Error(`the claim was refused: ${claim.reason}`);
      return { id: request.id, delivery, attempt: claim.record.attempt };
    }

    const finishing = (id: string, attempt: number, to: Status = 'COMPLETED') => ({ id, from: ['PROCESSING'] as Status[], to, attempt, workerId: 'w1', ...(to === 'COMPLETED' ? { outcome: outcome({ done: id }), error: null } : {}) });

    test('submit stores the record and the message together', async ({ queue }) => {
      const pair = await open();
      const request = newRequest({ priority: 3 });
      const submitted = await pair.fused.submit({ request, queue, message: { body: 'hello', priority: 3 } });
      expect(submitted.record).toMatchObject({ id: request.id, status: 'PENDING', attempt: 0, priority: 3 });
      expect(await pair.store.get(request.id)).toEqual(submitted.record);
      expect(await pair.store.events(request.id)).toMatchObject([{ from: null, to: 'PENDING', attempt: 0 }]);
      const delivery = await nextDelivery(pair.queue, queue);
      expect(delivery).toMatchObject({ body: 'hello', messageId: submitted.messageId, priority: 3, deliveryCount: 1 });
    });

    test('a duplicate id is refused with HQM_ERR_DUPLICATE_ID and writes nothing', async ({ queue }) => {
      const pair = await open();
      const request = newRequest();
      const first = await pair.fused.submit({ request, queue, message: { body: 'first' } });
      const again = pair.fused.submit({ request: { ...request, queue: 'other', priority: 9 }, queue, message: { body: 'second' } });
      await expect(again).rejects.toMatchObject({ code: 'HQM_ERR_DUPLICATE_ID' });
      expect(await pair.store.get(request.id)).toEqual(first.record);
      expect((await pair.queue.stats(queue)).depth).toBe(1);
      expect((await nextDelivery(pair.queue, queue)).body).toBe('first');
    });

    test('a body over the queue’s limit is refused with HQM_ERR_BODY_TOO_LARGE and writes nothing', async ({ queue }) => {
      const pair = await open({ max_message_bytes: 2048 });
      const request = newRequest();
      const body = 'x'.repeat(pair.queue.capabilities.maxMessageBytes + 1);
      await expect(pair.fused.submit({ request, queue, message: { body } })).rejects.toMatchObject({ code: 'HQM_ERR_BODY_TOO_LARGE' });
      expect(await pair.store.get(request.id)).toBeUndefined();
      expect(await empty(pair.queue, queue)).toBe(true);
    });

    test('submits of one turn all land, and a duplicate among them fails only itself', async ({ queue }) => {
      const pair = await open();
      const existing = newRequest();
      await pair.fused.submit({ request: existing, queue, message: { body: 'existing' } });
      const fresh = Array.from({ length: 20 }, () => newRequest());
      const twice = newRequest();
      // All in the same turn of the event loop: a batching backend writes them together.
      const results = await Promise.allSettled([
        ...fresh.map((request, i) => pair.fused.submit({ request, queue, message: { body: `fresh-${i}` } })),
        pair.fused.submit({ request: existing, queue, message: { body: 'existing again' } }),
        pair.fused.submit({ request: twice, queue, message: { body: 'twice-a' } }),
        pair.fused.submit({ request: twice, queue, message: { body: 'twice-b' } }),
      ]);
      expect(results.slice(0, 20).every((r) => r.status === 'fulfilled')).toBe(true);
      const refused = (r: PromiseSettledResult<unknown> | undefined): boolean => r?.status === 'rejected' && isHqmError(r.reason) && r.reason.code === 'HQM_ERR_DUPLICATE_ID';
      expect(refused(results[20])).toBe(true);
      expect(results.slice(21).filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.slice(21).filter(refused)).toHaveLength(1);
      for (const request of [...fresh, twice]) expect(await pair.store.get(request.id)).toMatchObject({ status: 'PENDING' });
      expect((await pair.queue.stats(queue)).depth).toBe(22);
      const ids = new Set(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.messageId] : [])));
      expect(ids.size).toBe(21);
    });

    test('finish writes the outcome and acknowledges the message in one step', async ({ queue }) => {
      const pair = await open();
      const { id, delivery, attempt } = await running(pair, queue);
      const changes: RecordChange[] = [];
      const unsubscribe = pair.store.onChange((change) => changes.push(change));
      const result = await pair.fused.finish(delivery, { transition: finishing(id, attempt), applied: ACK, otherwise: ACK });
      expect(result.ok && result.record).toMatchObject({ id, status: 'COMPLETED', attempt, outcome: { result: { done: id } } });
      // Both halves are there as soon as it resolves: no settle still on its way.
      expect(await pair.store.get(id)).toMatchObject({ status: 'COMPLETED', outcome: { result: { done: id } } });
      expect(await empty(pair.queue, queue)).toBe(true);
      expect((await pair.store.events(id)).map((e) => e.to)).toEqual(['PENDING', 'PROCESSING', 'COMPLETED']);
      await waitFor(() => changes.some((c) => c.id === id && c.status === 'COMPLETED'), { what: 'the change feed reporting COMPLETED' });
      unsubscribe();
    });

    test('finish with a retry leaves the record PENDING and brings the message back, counted', async ({ queue }) => {
      const pair = await open();
      const { id, delivery, attempt } = await running(pair, queue);
      const result = await pair.fused.finish(delivery, { transition: { ...finishing(id, attempt, 'PENDING'), error: 'try again' }, applied: { kind: 'retry', delayMs: 0 }, otherwise: ACK });
      expect(result.ok && result.record).toMatchObject({ status: 'PENDING', attempt, error: 'try again' });
      const again = await nextDelivery(pair.queue, queue);
      expect(again).toMatchObject({ messageId: delivery.messageId, deliveryCount: 2 });
    });

    test('finish with a release gives the attempt back and the message back uncounted', async ({ queue }) => {
      const pair = await open();
      const { id, delivery, attempt } = await running(pair, queue);
      const result = await pair.fused.finish(delivery, { transition: { ...finishing(id, attempt, 'PENDING'), refund: true }, applied: { kind: 'release', delayMs: 0 }, otherwise: { kind: 'release', delayMs: 0 } });
      expect(result.ok && result.record).toMatchObject({ status: 'PENDING', attempt: attempt - 1 });
      const again = await nextDelivery(pair.queue, queue);
      expect(again).toMatchObject({ messageId: delivery.messageId, deliveryCount: 1 });
    });

    test('finish dead-letters a failure together with its FAILED record', async ({ queue }) => {
      const pair = await open();
      const { id, delivery, attempt } = await running(pair, queue);
      const failed = { ...finishing(id, attempt, 'FAILED'), error: 'broken', outcome: outcome(null, { error: 'broken' }) };
      const result = await pair.fused.finish(delivery, { transition: failed, applied: { kind: 'deadLetter', reason: 'broken' }, otherwise: ACK });
      expect(result.ok && result.record.status).toBe('FAILED');
      expect(await empty(pair.queue, queue)).toBe(true);
      expect(await pair.queue.deadLetters(queue, { limit: 10 })).toMatchObject([{ messageId: delivery.messageId, reason: 'broken' }]);
    });

    test('a finish whose transition does not apply settles as `otherwise` and changes no record', async ({ queue }) => {
      const pair = await open();
      const { id, delivery, attempt } = await running(pair, queue);
      const cancelled = await pair.store.transition({ id, from: ['PROCESSING'], to: 'CANCELLED', attempt, error: 'cancelled by the client' });
      expect(cancelled.ok).toBe(true);
      const result = await pair.fused.finish(delivery, { transition: finishing(id, attempt), applied: ACK, otherwise: { kind: 'deadLetter', reason: 'ended elsewhere' } });
      expect(result).toMatchObject({ ok: false, reason: 'conflict', current: { status: 'CANCELLED' } });
      expect(await pair.store.get(id)).toMatchObject({ status: 'CANCELLED', outcome: { result: null } });
      expect(await pair.queue.deadLetters(queue, { limit: 10 })).toMatchObject([{ reason: 'ended elsewhere' }]);
      const missing = await running(pair, queue);
      const gone = await pair.fused.finish(missing.delivery, { transition: finishing(`no-such-${randomUUID()}`, 1), applied: { kind: 'deadLetter', reason: 'wrong' }, otherwise: ACK });
      expect(gone).toEqual({ ok: false, reason: 'not_found' });
      expect(await empty(pair.queue, queue)).toBe(true);
    });

    test('a stale delivery settles nothing, while its transition applies by the record alone', async ({ queue }) => {
      const pair = await open();
      const request = newRequest();
      await pair.fused.submit({ request, queue, message: { body: 'contended' } });
      const stale = await nextDelivery(pair.queue, queue, 200);
      // Its lease lapses and the message goes to another delivery.
      const fresh = await nextDelivery(pair.queue, queue, 30_000);
      expect(fresh).toMatchObject({ messageId: stale.messageId, deliveryCount: 2 });
      const claim = await pair.store.claim({ id: request.id, workerId: 'w1', leaseMs: 30_000 });
      expect(claim.ok).toBe(true);
      const attempt = claim.ok ? claim.record.attempt : 0;
      const result = await pair.fused.finish(stale, { transition: finishing(request.id, attempt), applied: ACK, otherwise: ACK });
      expect(result.ok).toBe(true);
      expect((await pair.queue.stats(queue)).inFlight).toBe(1);
      const late = await pair.fused.finish(fresh, { transition: finishing(request.id, attempt), applied: ACK, otherwise: ACK });
      expect(late).toMatchObject({ ok: false, reason: 'conflict' });
      expect(await empty(pair.queue, queue)).toBe(true);
    });

    test('a crash before the finish is harmless: the redelivery takes the request over as the next attempt', async ({ queue }) => {
      const first = await harness.open();
      const { id } = await running(first, queue, { visibilityTimeoutMs: 300, leaseMs: 300 });
      await (harness.crash as (pair: FusedPair) => Promise<void>)(first);
      const pair = await open();
      const delivery = await nextDelivery(pair.queue, queue);
      const claim = await waitFor(async () => {
        const attempt = await pair.store.claim({ id, workerId: 'w2', leaseMs: 30_000 });
        return attempt.ok ? attempt : undefined;
      }, { what: 'the take-over once the first lease lapsed' });
      expect(claim.record.attempt).toBe(2);
      const result = await pair.fused.finish(delivery, { transition: finishing(id, 2), applied: ACK, otherwise: ACK });
      expect(result.ok && result.record).toMatchObject({ status: 'COMPLETED', attempt: 2 });
      expect(await empty(pair.queue, queue)).toBe(true);
    }, (h) => (h.crash === undefined ? 'a crash hook' : undefined));
  });
}

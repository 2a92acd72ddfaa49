/** The worker's side of delayed requests (D100, D101): run when due, deadline counted from then. */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryResultStore } from '../../src/adapters/result-store/memory/index.js';
import { HqmEvents } from '../../src/core/events.js';
import { encodeEnvelope, normalizeMetadata, type Envelope } from '../../src/core/request/envelope.js';
import { newCorrelationId } from '../../src/core/request/ids.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { Delivery } from '../../src/ports/queue-backend.js';
import { runAttempt, type AttemptDeps } from '../../src/worker/attempt.js';

const stores: MemoryResultStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

function setup(processor: () => Promise<unknown>) {
  const store = new MemoryResultStore();
  stores.push(store);
  const events = new HqmEvents();
  const deps: AttemptDeps = {
    store,
    processor,
    events,
    logger: silentLogger,
    queueName: 'q',
    workerId: 'w',
    retry: { maxAttempts: 3, baseMs: 0, maxMs: 0 },
    defaultTimeoutSeconds: 60,
    ttlMs: 60_000,
    idSecret: 'test-secret',
    settle: (p) => void p,
  };
  return { store, events, deps };
}

/** A delivery that records how it was settled. */
function deliveryOf(envelope: Envelope, settled: string[]): Delivery {
  return {
    messageId: 'm',
    body: encodeEnvelope(envelope),
    deliveryCount: 1,
    priority: 0,
    partitionKey: null,
    enqueuedAt: Date.now(),
    ack: async () => void settled.push('ack'),
    retry: async (ms) => void settled.push(`retry ${ms}`),
    release: async (ms = 0) => void settled.push(`release ${ms}`),
    deadLetter: async (reason) => void settled.push(`dead-letter ${reason}`),
    extend: async () => undefined,
  };
}

function envelope(id: string, submittedAt: number, runAt: number, timeout: number): Envelope {
  return {
    v: 1,
    correlation_id: id,
    timestamp: new Date(submittedAt).toISOString(),
    payload: {},
    headers: {},
    metadata: normalizeMetadata({ timeout }, { timeout: 60 }),
    request: null,
    traceparent: null,
    run_at: new Date(runAt).toISOString(),
  };
}

describe('a delayed request at the worker', () => {
  it('delivered before it is due, goes back to the queue for the rest of its delay without running or counting an attempt', async () => {
    let calls = 0;
    const { store, events, deps } = setup(async () => (calls += 1));
    const id = newCorrelationId();
    const now = Date.now();
    const runAt = now + 3_600_000;
    await store.create({ id, queue: 'default', priority: 0, submittedAt: now, deadlineAt: runAt + 60_000, ttlMs: 60_000, runAt });
    const deferred: string[] = [];
    events.on('request:deferred', ({ reason }) => deferred.push(reason));
    const settled: string[] = [];
    await runAttempt(deps, deliveryOf(envelope(id, now, runAt, 60), settled), new AbortController());
    expect(calls).toBe(0);
    expect(settled).toHaveLength(1);
    const [, ms] = (settled[0] ?? '').split(' ');
    expect(settled[0]).toMatch(/^release /);
    expect(Number(ms)).toBeGreaterThan(3_590_000);
    expect(Number(ms)).toBeLessThanOrEqual(3_600_000);
    expect(deferred).toEqual(['not_due']);
    expect(await store.get(id)).toMatchObject({ status: 'PENDING', attempt: 0 });
  });

  it('runs once due, although longer than its timeout has passed since it was submitted: the deadline counts from run_at', async () => {
    let calls = 0;
    const { store, deps } = setup(async () => (calls += 1));
    const id = newCorrelationId();
    const submittedAt = Date.now() - 600_000;
    const runAt = Date.now() - 1_000;
    await store.create({ id, queue: 'default', priority: 0, submittedAt, deadlineAt: runAt + 60_000, ttlMs: 60_000, runAt });
    const settled: string[] = [];
    await runAttempt(deps, deliveryOf(envelope(id, submittedAt, runAt, 60), settled), new AbortController());
    expect(calls).toBe(1);
    expect(settled).toEqual(['ack']);
    expect(await store.get(id)).toMatchObject({ status: 'COMPLETED', outcome: { result: 1 } });
  });
});

/**
 * The ResultStore conformance suite, run against every store adapter on its real server.
 * Each test works on fresh random ids, so suites can share one server.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isHqmError } from '../core/errors.js';
import type { RecordChange, ResultStore } from '../ports/result-store.js';
import { deferred, waitFor } from './wait.js';
import { newRequest, outcome, type StoreHarness } from './fixtures.js';
import { describeListCases } from './result-store-list.js';

export { newRequest, outcome, type StoreHarness } from './fixtures.js';

/** Values whose exact round trip the store must keep. */
function awkwardResults(): unknown[] {
  let deep: unknown = 'bottom';
  for (let i = 0; i < 63; i += 1) deep = i % 2 === 0 ? { d: deep } : [deep];
  return [
    null,
    true,
    0,
    -1.5e-300,
    Number.MAX_SAFE_INTEGER,
    '',
    'quotes " and \\ backslashes, tabs\t, newlines\n, NUL \u0000, separators \u2028\u2029',
    'üñíçødé — 中文 — العربية — 😀👩‍👩‍👧 — \u200d zero width',
    { '': 'empty key', 'ключ': [1, 'two', { three: 3 }], nested: { a: { b: { c: null } } } },
    [],
    {},
    Array.from({ length: 1000 }, (_, i) => ({ i, s: `item-${i}` })),
    deep,
  ];
}

export function describeResultStore(name: string, makeHarness: () => Promise<StoreHarness | { skip: string }>): void {
  describe(`ResultStore conformance: ${name}`, () => {
    let harness: StoreHarness;
    let skipReason: string | undefined;
    const opened: ResultStore[] = [];

    beforeAll(async () => {
      const made = await makeHarness();
      if ('skip' in made) skipReason = made.skip;
      else harness = made;
    });

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    async function open(): Promise<ResultStore> {
      const store = await harness.open();
      opened.push(store);
      return store;
    }

    function test(title: string, body: () => Promise<void>, needs?: (s: ResultStore) => string | undefined): void {
      it(title, async (ctx) => {
        if (skipReason !== undefined) return ctx.skip(skipReason);
        if (needs !== undefined) {
          const missing = needs(await open());
          if (missing !== undefined) return ctx.skip(`${name} lacks ${missing}`);
        }
        await body();
      });
    }

    const tenantSlots = (s: ResultStore): string | undefined => (s.capabilities.tenantConcurrency ? undefined : 'atomic per-tenant concurrency');

    test('creates a PENDING record at attempt 0 with its first event', async () => {
      const store = await open();
      const request = newRequest({ priority: 7, deadlineAt: Date.now() + 5000 });
      await store.create(request);
      const record = await store.get(request.id);
      expect(record).toMatchObject({ id: request.id, status: 'PENDING', attempt: 0, priority: 7, outcome: null, deadlineAt: request.deadlineAt });
      expect(await store.events(request.id)).toMatchObject([{ from: null, to: 'PENDING', attempt: 0 }]);
    });

    test('keeps the tenant a request was submitted by, through every transition (null without one)', async () => {
      const store = await open();
      const { id } = await store.create({ ...newRequest(), tenant: 'acme' });
      const untenanted = await store.create(newRequest());
      expect(untenanted.tenant).toBeNull();
      expect((await store.get(untenanted.id))?.tenant).toBeNull();
      expect((await store.get(id))?.tenant).toBe('acme');
      const claimed = await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1, workerId: 'w1' });
      expect(claimed.ok && claimed.record.tenant).toBe('acme');
      const done = await store.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome({ ok: true }) });
      expect(done.ok && done.record.tenant).toBe('acme');
      expect((await store.get(id))?.tenant).toBe('acme');
    });

    test('keeps a delayed request’s runAt through every transition (null when not delayed)', async () => {
      const store = await open();
      const runAt = Date.now() + 86_400_000;
      const created = await store.create({ ...newRequest({ deadlineAt: runAt + 5_000 }), runAt });
      expect(created.runAt).toBe(runAt);
      const plain = await store.create(newRequest());
      expect(plain.runAt).toBeNull();
      expect((await store.get(plain.id))?.runAt).toBeNull();
      expect((await store.get(created.id))?.runAt).toBe(runAt);
      const claimed = await store.transition({ id: created.id, from: ['PENDING'], to: 'PROCESSING', attempt: 1, workerId: 'w1' });
      expect(claimed.ok && claimed.record.runAt).toBe(runAt);
      const done = await store.transition({ id: created.id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome('late') });
      expect(done.ok && done.record.runAt).toBe(runAt);
      expect(await store.get(created.id)).toMatchObject({ status: 'COMPLETED', runAt });
    });

    test('a delayed request without a deadline outlives its TTL until it is due', async () => {
      const store = await open();
      // Same TTL, no deadline: only the due time keeps the delayed one.
      const plain = await store.create(newRequest({ ttlMs: 150 }));
      const delayed = await store.create({ ...newRequest({ ttlMs: 150 }), runAt: Date.now() + 60_000 });
      expect(delayed.expiresAt).toBeGreaterThanOrEqual((delayed.runAt ?? 0) + 150);
      await waitFor(async () => (await store.get(plain.id)) === undefined, { what: 'the undelayed record to expire' });
      await harness.expire?.(store);
      expect(await store.get(delayed.id)).toMatchObject({ status: 'PENDING', runAt: delayed.runAt });
    });

    test('refuses a second record with the same id', async () => {
      const store = await open();
      const request = newRequest();
      await store.create(request);
      const error = await store.create(request).catch((e: unknown) => e);
      expect(isHqmError(error) && error.code).toBe('HQM_ERR_DUPLICATE_ID');
    });

    test('walks PENDING → PROCESSING → COMPLETED, writing the outcome with the status and auditing each step', async () => {
      const store = await open();
      const { id } = await store.create(newRequest());
      expect(await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1, workerId: 'w1' })).toMatchObject({ ok: true });
      const done = await store.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome({ output: 'HELLO' }) });
      expect(done.ok).toBe(true);
      expect(await store.get(id)).toMatchObject({ status: 'COMPLETED', attempt: 1, workerId: 'w1', outcome: { result: { output: 'HELLO' } } });
      const events = await store.events(id);
      expect(events.map((e) => [e.from, e.to, e.attempt])).toEqual([
        [null, 'PENDING', 0],
        ['PENDING', 'PROCESSING', 1],
        ['PROCESSING', 'COMPLETED', 1],
      ]);
      expect(events[1]?.workerId).toBe('w1');
    });

    test('never changes a terminal record', async () => {
      const store = await open();
      const { id } = await store.create(newRequest());
      await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
      await store.transition({ id, from: ['PROCESSING'], to: 'FAILED', attempt: 1, error: 'boom', outcome: outcome(null, { error: 'boom' }) });
      for (const to of ['PENDING', 'PROCESSING', 'COMPLETED', 'TIMEOUT', 'CANCELLED'] as const) {
        const result = await store.transition({ id, from: ['FAILED', 'PROCESSING', 'PENDING'], to, attempt: 2 });
        expect(result).toMatchObject({ ok: false, reason: 'conflict' });
      }
      expect(await store.get(id)).toMatchObject({ status: 'FAILED', outcome: { error: 'boom' } });
    });

    test('cancels a PROCESSING record so that the running attempt\'s late result is refused', async () => {
      const store = await open();
      const { id } = await store.create(newRequest());
      await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1, workerId: 'w1' });
      const cancelled = await store.transition({ id, from: ['PROCESSING'], to: 'CANCELLED', attempt: 1, error: 'cancelled', outcome: outcome(null, { error: 'cancelled' }) });
      expect(cancelled).toMatchObject({ ok: true, record: { status: 'CANCELLED' } });
      const late = await store.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome('late') });
      expect(late).toMatchObject({ ok: false, reason: 'conflict', current: { status: 'CANCELLED' } });
      expect(await store.get(id)).toMatchObject({ status: 'CANCELLED', outcome: { result: null, error: 'cancelled' } });
      expect((await store.events(id)).map((e) => [e.from, e.to])).toEqual([
        [null, 'PENDING'],
        ['PENDING', 'PROCESSING'],
        ['PROCESSING', 'CANCELLED'],
      ]);
    });

    test('replays a FAILED record: back to PENDING at attempt 0 with a new deadline and TTL, the old outcome gone, the move in the trail and on the change feed', async () => {
      const store = await open();
      const { id } = await store.create(newRequest({ deadlineAt: Date.now() + 1000, ttlMs: 60_000 }));
      await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1, workerId: 'w1' });
      await store.transition({ id, from: ['PROCESSING'], to: 'PENDING', attempt: 1, error: 'first try' });
      await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 2, workerId: 'w1' });
      await store.transition({ id, from: ['PROCESSING'], to: 'FAILED', attempt: 2, error: 'boom', outcome: outcome(null, { error: 'boom', statusCode: 503 }) });
      const changes: RecordChange[] = [];
      const off = store.onChange((change) => {
        if (change.id === id) changes.push(change);
      });
      await store.get(id); // Waits for the change feed's subscription.
      const deadlineAt = Date.now() + 3_600_000;
      const replayed = await store.replay({ id, deadlineAt });
      expect(replayed).toMatchObject({ ok: true, record: { status: 'PENDING', attempt: 0, deadlineAt, workerId: null, error: null, outcome: null, progress: null } });
      const stored = await store.get(id);
      expect(stored).toEqual(replayed.ok ? replayed.record : undefined);
      expect(stored?.expiresAt).toBe(deadlineAt + 60_000);
      const trail = await store.events(id);
      expect(trail.at(-1)).toMatchObject({ from: 'FAILED', to: 'PENDING', attempt: 0, error: null });
      // The earlier errors stay in the trail.
      expect(trail.map((e) => e.error)).toContain('first try');
      await waitFor(() => changes.some((c) => c.status === 'PENDING'), { what: 'the replay on the change feed' });
      off();
      // A fresh attempt budget: the replayed message's first delivery claims it as attempt 1.
      expect(await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 })).toMatchObject({ ok: true });
    });

    test('replays only FAILED or TIMEOUT records; transitions never leave a terminal status', async () => {
      const store = await open();
      const timedOut = (await store.create(newRequest())).id;
      await store.transition({ id: timedOut, from: ['PENDING'], to: 'TIMEOUT', attempt: 0, error: 'deadline' });
      expect(await store.replay({ id: timedOut, deadlineAt: null })).toMatchObject({ ok: true, record: { status: 'PENDING', deadlineAt: null } });
      // Replayed once, it is PENDING: a second replay (a concurrent one) is a conflict.
      expect(await store.replay({ id: timedOut, deadlineAt: null })).toMatchObject({ ok: false, reason: 'conflict', current: { status: 'PENDING' } });
      const done = (await store.create(newRequest())).id;
      await store.transition({ id: done, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
      await store.transition({ id: done, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome('ok') });
      expect(await store.replay({ id: done, deadlineAt: null })).toMatchObject({ ok: false, reason: 'conflict', current: { status: 'COMPLETED' } });
      expect(await store.replay({ id: randomUUID(), deadlineAt: null })).toEqual({ ok: false, reason: 'not_found' });
      const failed = (await store.create(newRequest())).id;
      await store.transition({ id: failed, from: ['PENDING'], to: 'TIMEOUT', attempt: 0 });
      expect(await store.transition({ id: failed, from: ['TIMEOUT'], to: 'PENDING', attempt: 0 })).toMatchObject({ ok: false, reason: 'conflict' });
    });

    test('refuses a move the lifecycle does not allow', async () => {
      const store = await open();
      const { id } = await store.create(newRequest());
      const result = await store.transition({ id, from: ['PENDING'], to: 'COMPLETED', attempt: 1, outcome: outcome('x') });
      expect(result).toMatchObject({ ok: false, reason: 'conflict', current: { status: 'PENDING' } });
    });

    test('a stale attempt loses to the attempt that took the record over', async () => {
      const store = await open();
      const { id } = await store.create(newRequest());
      await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
      expect(await store.transition({ id, from: ['PROCESSING'], to: 'PROCESSING', attempt: 1 })).toMatchObject({ ok: false });
      expect(await store.transition({ id, from: ['PROCESSING'], to: 'PROCESSING', attempt: 2 })).toMatchObject({ ok: true });
      const stale = await store.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome('stale') });
      expect(stale).toMatchObject({ ok: false, reason: 'conflict' });
      const fresh = await store.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 2, outcome: outcome('fresh') });
      expect(fresh.ok).toBe(true);
      expect((await store.get(id))?.outcome?.result).toBe('fresh');
    });

    test('of concurrent writers exactly one wins', async () => {
      const store = await open();
      const { id } = await store.create(newRequest());
      await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome({ writer: i }) }),
        ),
      );
      const winners = results.flatMap((r, i) => (r.ok ? [i] : []));
      expect(winners).toHaveLength(1);
      expect((await store.get(id))?.outcome?.result).toEqual({ writer: winners[0] });
      expect((await store.events(id)).filter((e) => e.to === 'COMPLETED')).toHaveLength(1);
    });

    test('returns any JSON result exactly as it was written', async () => {
      const store = await open();
      for (const result of awkwardResults()) {
        const { id } = await store.create(newRequest());
        await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
        const headers = { 'content-type': 'application/json; charset=utf-8', 'x-ünïcode': 'välue' };
        await store.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome(result, { statusCode: 201, headers }) });
        const stored = await store.get(id);
        expect(stored?.outcome?.result).toStrictEqual(result);
        expect(stored?.outcome?.headers).toStrictEqual(headers);
        expect(stored?.outcome?.statusCode).toBe(201);
      }
    });

    test('forgets a record once its TTL has passed', async () => {
      const store = await open();
      const { id } = await store.create(newRequest({ ttlMs: 150 }));
      expect(await store.get(id)).toBeDefined();
      await waitFor(async () => (await store.get(id)) === undefined, { what: 'expiry' });
      expect(await store.events(id)).toEqual([]);
      expect(await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 })).toMatchObject({ ok: false, reason: 'not_found' });
    });

    test('expiry removes every expired record and its trail, however many, and nothing live', async () => {
      const store = await open();
      // More than any one batch of a sweep: all of them must go in one run, not a batch a minute.
      const count = 2_500;
      const expiring = Array.from({ length: count }, () => newRequest({ ttlMs: 1_000 }));
      const live = Array.from({ length: 5 }, () => newRequest({ ttlMs: 600_000 }));
      await Promise.all([...expiring, ...live].map((r) => store.create(r)));
      // A transition gives each record an event to be removed with it.
      await Promise.all([...expiring, ...live].map(({ id }) => store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 })));
      const ids = expiring.map((r) => r.id);
      const last = expiring.reduce((a, b) => (b.submittedAt > a.submittedAt ? b : a));
      await waitFor(async () => (await store.get(last.id)) === undefined, { what: 'the records to expire' });
      await harness.expire?.(store);
      expect(await harness.stored(store, ids)).toBe(0);
      expect(await harness.stored(store, live.map((r) => r.id))).toBe(live.length);
      for (const { id } of live) expect(await store.get(id)).toMatchObject({ status: 'PROCESSING' });
    });

    test('gives an expired id to a new request, without the old one\'s trail', async () => {
      const store = await open();
      const { id } = await store.create(newRequest({ ttlMs: 150 }));
      await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
      await waitFor(async () => (await store.get(id)) === undefined, { what: 'expiry' });
      await store.create(newRequest({ id, ttlMs: 60_000 }));
      expect(await store.get(id)).toMatchObject({ id, status: 'PENDING', attempt: 0 });
      expect((await store.events(id)).map((e) => e.to)).toEqual(['PENDING']);
    });

    test('restarts the TTL when a request finishes', async () => {
      const store = await open();
      const submittedAt = Date.now() - 50_000;
      const { id } = await store.create(newRequest({ submittedAt, ttlMs: 60_000 }));
      await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
      await store.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome(1) });
      const record = await store.get(id);
      expect(record?.expiresAt).toBeGreaterThanOrEqual((record?.updatedAt ?? 0) + 60_000);
    });

    test('answers not_found for an unknown id', async () => {
      const store = await open();
      expect(await store.get(randomUUID())).toBeUndefined();
      expect(await store.transition({ id: randomUUID(), from: ['PENDING'], to: 'PROCESSING', attempt: 1 })).toEqual({ ok: false, reason: 'not_found' });
    });

    test('records progress only for the attempt holding the record', async () => {
      const store = await open();
      const { id } = await store.create(newRequest());
      expect(await store.setProgress(id, 1, 10)).toBe(false);
      await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
      expect(await store.setProgress(id, 2, 20)).toBe(false);
      expect(await store.setProgress(id, 1, 50)).toBe(true);
      expect((await store.get(id))?.progress).toBe(50);
    });

    test('a completion keeps the follow-up id it names (outcome.nextId, metadata.then)', async () => {
      const store = await open();
      const { id } = await store.create(newRequest());
      const nextId = randomUUID();
      await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
      const done = await store.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome({ n: 1 }, { nextId }) });
      expect(done.ok && done.record.outcome?.nextId).toBe(nextId);
      expect((await store.get(id))?.outcome).toMatchObject({ result: { n: 1 }, nextId });
    });

    test('delete removes the record and its trail', async () => {
      const store = await open();
      const { id } = await store.create(newRequest());
      await store.delete(id);
      expect(await store.get(id)).toBeUndefined();
      expect(await store.events(id)).toEqual([]);
    });

    test('notes join the trail in order, stamped with the status they happened in, and change nothing else', async () => {
      const store = await open();
      const { id } = await store.create(newRequest());
      await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1, workerId: 'w1' });
      await store.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome('done') });
      const before = await store.get(id);
      const detail = { status: 503, latency_ms: 12.5, error: 'üñí "quoted"', nested: { ok: false, list: [1, null] } };
      expect(await store.appendNote(id, { kind: 'webhook', detail })).toBe(true);
      expect(await store.appendNote(id, { kind: 'webhook', detail: { status: 200 } })).toBe(true);
      expect(await store.get(id)).toEqual(before);
      const trail = await store.events(id);
      expect(trail.map((e) => [e.from, e.to, e.note?.kind ?? null])).toEqual([
        [null, 'PENDING', null],
        ['PENDING', 'PROCESSING', null],
        ['PROCESSING', 'COMPLETED', null],
        ['COMPLETED', 'COMPLETED', 'webhook'],
        ['COMPLETED', 'COMPLETED', 'webhook'],
      ]);
      expect(trail[3]).toMatchObject({ attempt: 1, note: { kind: 'webhook', detail } });
      expect(trail[4]?.note?.detail).toEqual({ status: 200 });
    });

    test('a note on an unknown id is refused and leaves nothing behind', async () => {
      const store = await open();
      const id = randomUUID();
      expect(await store.appendNote(id, { kind: 'webhook', detail: {} })).toBe(false);
      expect(await store.events(id)).toEqual([]);
      expect(await harness.stored(store, [id])).toBe(0);
    });

    test('the change feed does not report notes', async () => {
      const store = await open();
      const other = store.capabilities.sharedChangeFeed ? await open() : store;
      const { id } = await store.create(newRequest());
      const seen: RecordChange[] = [];
      const processing = deferred<void>();
      const off = other.onChange((change) => {
        if (change.id !== id) return;
        seen.push(change);
        if (change.status === 'PROCESSING') processing.resolve();
      });
      await store.appendNote(id, { kind: 'probe', detail: {} });
      await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
      await processing.promise;
      expect(seen).toEqual([{ id, status: 'PROCESSING' }]);
      off();
    });

    const rateWindows = (s: ResultStore): string | undefined => (s.rateWindows === undefined ? 'shared rate windows' : undefined);

    test('rate windows count hits per key across instances, and a window closes after its length', async () => {
      const first = await open();
      const second = await open();
      const key = randomUUID();
      const windows = (s: ResultStore) => s.rateWindows as NonNullable<ResultStore['rateWindows']>;
      expect(await windows(first).hit(key, 60_000)).toMatchObject({ count: 1 });
      expect((await windows(second).hit(key, 60_000)).count).toBe(2);
      const third = await windows(first).hit(key, 60_000);
      expect(third.count).toBe(3);
      expect(third.resetInMs).toBeGreaterThan(0);
      expect(third.resetInMs).toBeLessThanOrEqual(60_000);
      expect((await windows(second).hit(`${key}-other`, 60_000)).count).toBe(1);
      // A short window: once it has closed, the next hit opens a new one.
      const short = randomUUID();
      await windows(first).hit(short, 200);
      await windows(first).hit(short, 200);
      await waitFor(async () => (await windows(second).hit(short, 200)).count === 1, { what: 'a new window after 200 ms' });
    }, rateWindows);

    test('the change feed wakes a waiter when a transition lands', async () => {
      const store = await open();
      const { id } = await store.create(newRequest());
      const woke = deferred<RecordChange>();
      const off = store.onChange((change) => {
        if (change.id === id && change.status === 'COMPLETED') woke.resolve(change);
      });
      await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
      await store.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome('done') });
      expect(await woke.promise).toEqual({ id, status: 'COMPLETED' });
      off();
    });

    test('a progress report is on the change feed, with its progress; one that does not apply is not', async () => {
      const store = await open();
      const { id } = await store.create(newRequest());
      const heard: RecordChange[] = [];
      const woke = deferred<RecordChange>();
      const off = store.onChange((change) => {
        if (change.id !== id || change.progress === undefined) return;
        heard.push(change);
        woke.resolve(change);
      });
      // Not PROCESSING yet: refused, and nothing is reported.
      expect(await store.setProgress(id, 1, 10)).toBe(false);
      await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
      expect(await store.setProgress(id, 1, 40)).toBe(true);
      expect(await woke.promise).toEqual({ id, status: 'PROCESSING', progress: 40 });
      expect(heard).toHaveLength(1);
      off();
    });

    test('a second store on the same storage hears the first one’s progress reports', async () => {
      const writer = await open();
      const reader = await open();
      const { id } = await writer.create(newRequest());
      await writer.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
      const woke = deferred<RecordChange>();
      const off = reader.onChange((change) => {
        if (change.id === id && change.progress !== undefined) woke.resolve(change);
      });
      // The first read after subscribing waits for the subscription (Redis), so the report below is heard.
      await reader.get(id);
      expect(await writer.setProgress(id, 1, 75)).toBe(true);
      expect(await woke.promise).toEqual({ id, status: 'PROCESSING', progress: 75 });
      off();
    }, (s) => (s.capabilities.sharedChangeFeed ? undefined : 'a change feed shared between instances'));

    test('a second store on the same storage sees the first one’s writes and changes', async () => {
      const writer = await open();
      const reader = await open();
      const { id } = await writer.create(newRequest());
      const woke = deferred<RecordChange>();
      const off = reader.onChange((change) => {
        if (change.id === id && change.status === 'PROCESSING') woke.resolve(change);
      });
      await writer.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
      expect(await woke.promise).toEqual({ id, status: 'PROCESSING' });
      expect(await reader.get(id)).toMatchObject({ status: 'PROCESSING' });
      off();
    }, (s) => (s.capabilities.sharedChangeFeed ? undefined : 'a change feed shared between instances'));

    test('of concurrent claims on one idempotency key exactly one reserves it; the others read what it holds', async () => {
      const first = await open();
      // Two instances share storage where the store is shared at all (the memory store is not).
      const second = first.capabilities.sharedChangeFeed ? await open() : first;
      const key = randomUUID();
      const claims = Array.from({ length: 8 }, (_, i) => ({ scope: 'tenant-a', key, fingerprint: `f${i}`, ids: [`id-${i}`, `id-${i}-b`], ttlMs: 60_000 }));
      const results = await Promise.all(claims.map((claim, i) => (i % 2 === 0 ? first : second).claimIdempotencyKey(claim)));
      const winners = results.flatMap((r, i) => (r.created ? [i] : []));
      expect(winners).toHaveLength(1);
      const winner = claims[winners[0] as number] as (typeof claims)[number];
      for (const result of results) if (!result.created) expect(result).toEqual({ created: false, ids: winner.ids, fingerprint: winner.fingerprint });
    });

    test('idempotency keys are scoped: another scope (or no tenant) claims the same key afresh', async () => {
      const store = await open();
      const key = randomUUID();
      const claim = { key, fingerprint: 'f', ids: ['a'], ttlMs: 60_000 };
      expect(await store.claimIdempotencyKey({ ...claim, scope: 't1' })).toEqual({ created: true });
      expect(await store.claimIdempotencyKey({ ...claim, scope: 't2' })).toEqual({ created: true });
      expect(await store.claimIdempotencyKey({ ...claim, scope: '' })).toEqual({ created: true });
      expect((await store.claimIdempotencyKey({ ...claim, scope: 't1' })).created).toBe(false);
    });

    test('an idempotency claim ends with its TTL, and a release frees it only for the submit that holds it', async () => {
      const store = await open();
      const key = randomUUID();
      expect(await store.claimIdempotencyKey({ scope: '', key, fingerprint: 'old', ids: ['x'], ttlMs: 50 })).toEqual({ created: true });
      await waitFor(async () => (await store.claimIdempotencyKey({ scope: '', key, fingerprint: 'new', ids: ['y'], ttlMs: 60_000 })).created);
      await store.releaseIdempotencyKey('', key, 'x'); // The expired holder's late release must not free the new claim.
      expect(await store.claimIdempotencyKey({ scope: '', key, fingerprint: 'z', ids: ['z'], ttlMs: 60_000 })).toEqual({ created: false, ids: ['y'], fingerprint: 'new' });
      await store.releaseIdempotencyKey('', key, 'y');
      expect(await store.claimIdempotencyKey({ scope: '', key, fingerprint: 'z', ids: ['z'], ttlMs: 60_000 })).toEqual({ created: true });
    });

    test('holds a tenant to its concurrency limit under concurrent claims, counting a takeover once and freeing a slot when one leaves PROCESSING', async () => {
      const store = await open();
      // Two instances where the storage is shared: the limit holds across processes, not per instance.
      const other = store.capabilities.sharedChangeFeed ? await open() : store;
      const tenant = `t-${randomUUID()}`;
      const ids = await Promise.all(Array.from({ length: 12 }, () => store.create(newRequest({ tenant })).then((r) => r.id)));
      const claim = (id: string, on: ResultStore = store, attempt = 1) => on.transition({ id, from: ['PENDING', 'PROCESSING'], to: 'PROCESSING', attempt, tenantLimit: 3 });
      const results = await Promise.all(ids.map((id, i) => claim(id, i % 2 === 0 ? store : other)));
      const won = ids.filter((_, i) => results[i]?.ok === true);
      expect(won).toHaveLength(3);
      for (const r of results.filter((r) => !r.ok)) expect(r).toMatchObject({ ok: false, reason: 'tenant_busy', current: { status: 'PENDING', attempt: 0 } });
      const waiting = ids.filter((id) => !won.includes(id));
      // A refused claim leaves no trace: still PENDING, no event.
      expect(await store.events(waiting[0] as string)).toHaveLength(1);

      // Other tenants, and requests without one, are not held back by this tenant's slots.
      const { id: stranger } = await store.create(newRequest({ tenant: `u-${randomUUID()}` }));
      const { id: anonymous } = await store.create(newRequest());
      expect(await claim(stranger)).toMatchObject({ ok: true });
      expect((await store.transition({ id: anonymous, from: ['PENDING'], to: 'PROCESSING', attempt: 1, tenantLimit: 1 })).ok).toBe(true);

      // A takeover by a later attempt keeps its slot: allowed, and still three in all.
      expect(await claim(won[0] as string, other, 2)).toMatchObject({ ok: true });
      expect(await claim(waiting[0] as string)).toMatchObject({ ok: false, reason: 'tenant_busy' });

      // Finishing frees a slot, and so does going back to PENDING (a retry's wait).
      await store.transition({ id: won[0] as string, from: ['PROCESSING'], to: 'COMPLETED', attempt: 2, outcome: outcome('done') });
      expect(await claim(waiting[0] as string, other)).toMatchObject({ ok: true });
      expect(await claim(waiting[1] as string)).toMatchObject({ ok: false, reason: 'tenant_busy' });
      await other.transition({ id: won[1] as string, from: ['PROCESSING'], to: 'PENDING', attempt: 1, error: 'retry' });
      expect(await claim(waiting[1] as string)).toMatchObject({ ok: true });
      // Without a limit the claim is not counted against one.
      expect((await store.transition({ id: waiting[2] as string, from: ['PENDING'], to: 'PROCESSING', attempt: 1 })).ok).toBe(true);
    }, tenantSlots);

    test('a record left PROCESSING past its deadline (its worker lost) no longer holds its tenant’s slot', async () => {
      const store = await open();
      const tenant = `t-${randomUUID()}`;
      const { id: lost } = await store.create(newRequest({ tenant, deadlineAt: Date.now() + 300 }));
      const { id: next } = await store.create(newRequest({ tenant }));
      const claim = (id: string) => store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1, tenantLimit: 1 });
      expect((await claim(lost)).ok).toBe(true);
      expect(await claim(next)).toMatchObject({ ok: false, reason: 'tenant_busy' });
      await waitFor(async () => (await claim(next)).ok, { timeoutMs: 5000 });
      expect(await store.get(next)).toMatchObject({ status: 'PROCESSING' });
    }, tenantSlots);

    test('a claim moves a PENDING record to PROCESSING under the next attempt, with a lease, and says so in the trail', async () => {
      const store = await open();
      const { id } = await store.create(newRequest());
      const before = Date.now();
      const claim = await store.claim({ id, workerId: 'w1', leaseMs: 30_000 });
      expect(claim).toMatchObject({ ok: true, record: { status: 'PROCESSING', attempt: 1, workerId: 'w1', error: null } });
      expect(claim.ok && claim.leaseUntil).toBeGreaterThanOrEqual(before + 30_000);
      expect(await store.get(id)).toMatchObject({ status: 'PROCESSING', attempt: 1 });
      expect((await store.events(id)).map((e) => `${e.to}:${e.attempt}`)).toEqual(['PENDING:0', 'PROCESSING:1']);
      expect(await store.claim({ id: randomUUID(), workerId: 'w1', leaseMs: 1_000 })).toEqual({ ok: false, reason: 'not_found' });
      await store.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome('done') });
      expect(await store.claim({ id, workerId: 'w2', leaseMs: 1_000 })).toMatchObject({ ok: false, reason: 'conflict', current: { status: 'COMPLETED', attempt: 1 } });
    });

    test('a claim while another attempt’s lease is live is refused as held, changing nothing; once it lapsed, the claim takes over as the next attempt', async () => {
      const store = await open();
      const { id } = await store.create(newRequest());
      const first = await store.claim({ id, workerId: 'w1', leaseMs: 400 });
      expect(first.ok).toBe(true);
      const held = await store.claim({ id, workerId: 'w2', leaseMs: 400 });
      expect(held).toMatchObject({ ok: false, reason: 'held', current: { status: 'PROCESSING', attempt: 1, workerId: 'w1' } });
      expect(!held.ok && held.reason === 'held' && first.ok && held.leaseUntil).toBe(first.ok && first.leaseUntil);
      expect((await store.events(id)).length).toBe(2);
      const lapsed = first.ok ? first.leaseUntil : 0;
      await waitFor(() => Date.now() > lapsed + 5, { what: 'the lease to lapse' });
      const takeover = await store.claim({ id, workerId: 'w2', leaseMs: 30_000 });
      expect(takeover).toMatchObject({ ok: true, record: { status: 'PROCESSING', attempt: 2, workerId: 'w2' } });
      // The lost attempt's late result loses its compare-and-set; the holder's lands.
      expect((await store.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome('late') })).ok).toBe(false);
      expect((await store.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 2, outcome: outcome('mine') })).ok).toBe(true);
    });

    test('renewLease keeps the holder’s lease live and only the holder’s', async () => {
      const store = await open();
      const { id } = await store.create(newRequest());
      const first = await store.claim({ id, workerId: 'w1', leaseMs: 300 });
      const firstUntil = first.ok ? first.leaseUntil : 0;
      expect(await store.renewLease(id, 2, 30_000)).toBe(false);
      expect(await store.renewLease(id, 1, 30_000)).toBe(true);
      await waitFor(() => Date.now() > firstUntil + 5, { what: 'the first lease to have lapsed' });
      expect(await store.claim({ id, workerId: 'w2', leaseMs: 300 })).toMatchObject({ ok: false, reason: 'held' });
      await store.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome('done') });
      expect(await store.renewLease(id, 1, 30_000)).toBe(false);
      expect(await store.renewLease(randomUUID(), 1, 30_000)).toBe(false);
    });

    test('of concurrent claims (through two store instances where the storage is shared) exactly one wins; the rest are held', async () => {
      const a = await open();
      const b = a.capabilities.sharedChangeFeed ? await open() : a;
      const ids = await Promise.all(Array.from({ length: 5 }, async () => (await a.create(newRequest())).id));
      for (const id of ids) {
        const claims = await Promise.all([a, b, a, b].map((s, i) => s.claim({ id, workerId: `w${i}`, leaseMs: 30_000 })));
        expect(claims.filter((c) => c.ok)).toHaveLength(1);
        expect(claims.filter((c) => !c.ok && c.reason === 'held')).toHaveLength(3);
        expect(await a.get(id)).toMatchObject({ status: 'PROCESSING', attempt: 1 });
      }
    });

    test('a move back to PENDING with refund gives the attempt back; without, the next claim counts', async () => {
      const store = await open();
      const { id } = await store.create(newRequest());
      await store.claim({ id, workerId: 'w1', leaseMs: 30_000 });
      const released = await store.transition({ id, from: ['PROCESSING'], to: 'PENDING', attempt: 1, error: 'released', refund: true });
      expect(released).toMatchObject({ ok: true, record: { status: 'PENDING', attempt: 0 } });
      expect(await store.claim({ id, workerId: 'w2', leaseMs: 30_000 })).toMatchObject({ ok: true, record: { attempt: 1 } });
      await store.transition({ id, from: ['PROCESSING'], to: 'PENDING', attempt: 1, error: 'failed' });
      expect(await store.claim({ id, workerId: 'w3', leaseMs: 30_000 })).toMatchObject({ ok: true, record: { attempt: 2 } });
      // The trail names the attempt that made each move, the refunded one included.
      expect((await store.events(id)).map((e) => `${e.to}:${e.attempt}`)).toEqual(['PENDING:0', 'PROCESSING:1', 'PENDING:1', 'PROCESSING:1', 'PENDING:1', 'PROCESSING:2']);
    });

    test('a claim given tenantLimit is refused as tenant_busy at the limit; a take-over keeps the slot it holds', async () => {
      const store = await open();
      const tenant = `t-${randomUUID()}`;
      const { id: one } = await store.create(newRequest({ tenant }));
      const { id: two } = await store.create(newRequest({ tenant }));
      const first = await store.claim({ id: one, workerId: 'w1', leaseMs: 200, tenantLimit: 1 });
      expect(first.ok).toBe(true);
      expect(await store.claim({ id: two, workerId: 'w1', leaseMs: 200, tenantLimit: 1 })).toMatchObject({ ok: false, reason: 'tenant_busy' });
      const lapsed = first.ok ? first.leaseUntil : 0;
      await waitFor(() => Date.now() > lapsed + 5, { what: 'the lease to lapse' });
      expect(await store.claim({ id: one, workerId: 'w2', leaseMs: 30_000, tenantLimit: 1 })).toMatchObject({ ok: true, record: { attempt: 2 } });
      expect(await store.claim({ id: two, workerId: 'w2', leaseMs: 30_000, tenantLimit: 1 })).toMatchObject({ ok: false, reason: 'tenant_busy' });
    }, tenantSlots);

    test('keeps records, outcomes, trails and leases across close and reopen', async () => {
      const first = await harness.open();
      const { id } = await first.create(newRequest());
      const { id: running } = await first.create(newRequest());
      await first.claim({ id, workerId: 'w1', leaseMs: 30_000 });
      await first.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome({ kept: true }) });
      await first.claim({ id: running, workerId: 'w1', leaseMs: 30_000 });
      await first.close();
      const second = await open();
      expect(await second.get(id)).toMatchObject({ status: 'COMPLETED', attempt: 1, outcome: { result: { kept: true } } });
      expect((await second.events(id)).map((e) => e.to)).toEqual(['PENDING', 'PROCESSING', 'COMPLETED']);
      // The lease outlives the client that took it: a second copy still may not run.
      expect(await second.claim({ id: running, workerId: 'w2', leaseMs: 30_000 })).toMatchObject({ ok: false, reason: 'held' });
    }, (s) => (s.capabilities.sharedChangeFeed ? undefined : 'storage that outlives one client'));

    describeListCases(test, open, () => harness);

    test('a closed store reports itself unhealthy', async () => {
      const store = await open();
      expect(await store.health()).toEqual({ ok: true });
      await store.close();
      expect((await store.health()).ok).toBe(false);
    });
  });
}

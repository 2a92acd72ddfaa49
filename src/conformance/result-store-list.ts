/**
 * The `ResultStore.list` cases of the conformance suite (result-store.ts calls them). The stores
 * of one suite share a server, so each case works in a queue or tenant of its own.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { ListPosition, ListQuery } from '../core/request/list.js';
import type { RequestRecord } from '../core/request/record.js';
import type { ResultStore } from '../ports/result-store.js';
import { waitFor } from './wait.js';
import { newRequest, outcome, type StoreHarness } from './fixtures.js';

type Test = (title: string, body: () => Promise<void>) => void;

/** Every page of `query`, following the cursor to the end. */
export async function listAll(store: ResultStore, query: Omit<ListQuery, 'before'>, between?: () => Promise<void>): Promise<RequestRecord[]> {
  const all: RequestRecord[] = [];
  let before: ListPosition | undefined;
  for (let pages = 0; pages < 1000; pages += 1) {
    const page = await store.list({ ...query, ...(before === undefined ? {} : { before }) });
    expect(page.records.length).toBeLessThanOrEqual(query.limit);
    all.push(...page.records);
    if (page.next === null) return all;
    before = page.next;
    await between?.();
  }
  throw new Error('the cursor never reached the end');
}

const ids = (records: readonly RequestRecord[]): string[] => records.map((r) => r.id);

/** Newest first by submittedAt, then by id, both descending. */
function listOrder(records: readonly RequestRecord[]): string[] {
  return [...records].sort((a, b) => b.submittedAt - a.submittedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).map((r) => r.id);
}

export function describeListCases(test: Test, open: () => Promise<ResultStore>, harness: () => StoreHarness): void {
  test('lists newest first by submission time, ties by id, the whole record as get() answers it', async () => {
    const store = await open();
    const queue = `q-${randomUUID()}`;
    const base = Date.now() - 10_000;
    // Out of order, with several in the same millisecond.
    const times = [base + 5, base + 1, base + 5, base + 3, base + 5, base + 1, base + 9];
    const created = await Promise.all(times.map((submittedAt) => store.create(newRequest({ queue, submittedAt }))));
    const page = await store.list({ queue, limit: 100 });
    expect(ids(page.records)).toEqual(listOrder(created));
    expect(page.next).toBeNull();
    expect(page.records[0]).toEqual(await store.get(page.records[0]?.id as string));
  });

  test('filters by status, queue and tenant, alone and together, and by a time window', async () => {
    const store = await open();
    const [q1, q2, t1, t2] = [`q-${randomUUID()}`, `q-${randomUUID()}`, `t-${randomUUID()}`, `t-${randomUUID()}`];
    const base = Date.now() - 10_000;
    const made: RequestRecord[] = [];
    let i = 0;
    for (const queue of [q1, q2]) {
      for (const tenant of [t1, t2, null]) {
        for (const to of ['PENDING', 'PROCESSING', 'COMPLETED'] as const) {
          i += 1;
          const { id } = await store.create(newRequest({ queue, tenant, submittedAt: base + i * 10 }));
          if (to !== 'PENDING') await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1, workerId: 'w' });
          if (to === 'COMPLETED') await store.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome('ok') });
          made.push((await store.get(id)) as RequestRecord);
        }
      }
    }
    const expectList = async (query: Omit<ListQuery, 'limit'>, keep: (r: RequestRecord) => boolean): Promise<void> => {
      const got = await store.list({ ...query, limit: 1000 });
      expect(ids(got.records), JSON.stringify(query)).toEqual(listOrder(made.filter(keep)));
    };
    // Untenanted queries are limited to this case's queues (the server is shared).
    for (const queue of [q1, q2]) {
      await expectList({ queue }, (r) => r.queue === queue);
      await expectList({ queue, status: 'PROCESSING' }, (r) => r.queue === queue && r.status === 'PROCESSING');
      await expectList({ queue, tenant: t1 }, (r) => r.queue === queue && r.tenant === t1);
      await expectList({ queue, tenant: t2, status: 'COMPLETED' }, (r) => r.queue === queue && r.tenant === t2 && r.status === 'COMPLETED');
    }
    for (const tenant of [t1, t2]) {
      await expectList({ tenant }, (r) => r.tenant === tenant);
      for (const status of ['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED'] as const) await expectList({ tenant, status }, (r) => r.tenant === tenant && r.status === status);
    }
    // Status alone, across every queue and tenant: this case's records are among the newest PENDING ones… of its own window.
    const since = base + 40;
    const until = base + 120;
    await expectList({ tenant: t1, since, until }, (r) => r.tenant === t1 && r.submittedAt >= since && r.submittedAt <= until);
    await expectList({ queue: q2, since }, (r) => r.queue === q2 && r.submittedAt >= since);
    await expectList({ queue: q1, until }, (r) => r.queue === q1 && r.submittedAt <= until);
    const completed = await store.list({ status: 'COMPLETED', since: base, until: base + i * 10, limit: 1000 });
    expect(ids(completed.records).filter((id) => made.some((r) => r.id === id))).toEqual(listOrder(made.filter((r) => r.status === 'COMPLETED')));
    expect(completed.records.every((r) => r.status === 'COMPLETED')).toBe(true);
  });

  test('a record is listed under the status it has now, not the ones it had', async () => {
    const store = await open();
    const queue = `q-${randomUUID()}`;
    const { id } = await store.create(newRequest({ queue }));
    expect(ids((await store.list({ queue, status: 'PENDING', limit: 10 })).records)).toEqual([id]);
    await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1, workerId: 'w' });
    await store.transition({ id, from: ['PROCESSING'], to: 'PENDING', attempt: 1, error: 'retry' });
    await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 2, workerId: 'w' });
    await store.transition({ id, from: ['PROCESSING'], to: 'FAILED', attempt: 2, outcome: outcome(null, { error: 'boom' }) });
    for (const status of ['PENDING', 'PROCESSING', 'COMPLETED'] as const) expect((await store.list({ queue, status, limit: 10 })).records).toEqual([]);
    const failed = await store.list({ queue, status: 'FAILED', limit: 10 });
    expect(failed.records).toMatchObject([{ id, status: 'FAILED', attempt: 2 }]);
    expect(ids((await store.list({ queue, limit: 10 })).records)).toEqual([id]);
    // A dead letter's replay moves it back to PENDING, and the index with it.
    expect(await store.replay({ id, deadlineAt: null })).toMatchObject({ ok: true });
    expect((await store.list({ queue, status: 'FAILED', limit: 10 })).records).toEqual([]);
    expect((await store.list({ queue, status: 'PENDING', limit: 10 })).records).toMatchObject([{ id, status: 'PENDING' }]);
  });

  test('pages through every record exactly once while new ones keep arriving', async () => {
    const store = await open();
    const queue = `q-${randomUUID()}`;
    const base = Date.now() - 10_000;
    // Many in one millisecond, so pages end inside a run of equal times.
    const first = await Promise.all(Array.from({ length: 40 }, (_, n) => store.create(newRequest({ queue, submittedAt: base + Math.floor(n / 8) }))));
    let added = 0;
    const seen = await listAll(store, { queue, limit: 7 }, async () => {
      added += 1;
      await store.create(newRequest({ queue }));
    });
    expect(added).toBeGreaterThan(4);
    expect(ids(seen)).toEqual(listOrder(first));
    // The cursor pages of a status that records leave meanwhile: none repeated, none of those that stay skipped.
    const stay = new Set(ids(first).filter((_, n) => n % 3 !== 0));
    const leaving = ids(first).filter((id) => !stay.has(id));
    const pending = await listAll(store, { queue, status: 'PENDING', since: base, until: base + 10, limit: 6 }, async () => {
      const id = leaving.pop();
      if (id !== undefined) await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1, workerId: 'w' });
    });
    expect(new Set(ids(pending)).size).toBe(pending.length);
    for (const id of stay) expect(ids(pending)).toContain(id);
  });

  test('says where the last page ends: a full page with nothing after it may point on, an empty query answers no cursor', async () => {
    const store = await open();
    const queue = `q-${randomUUID()}`;
    expect(await store.list({ queue, limit: 5 })).toEqual({ records: [], next: null });
    const made = await Promise.all(Array.from({ length: 5 }, (_, n) => store.create(newRequest({ queue, submittedAt: Date.now() - 1000 + n }))));
    const page = await store.list({ queue, limit: 4 });
    expect(ids(page.records)).toEqual(listOrder(made).slice(0, 4));
    expect(page.next).toEqual({ submittedAt: page.records[3]?.submittedAt, id: page.records[3]?.id });
    const rest = await store.list({ queue, limit: 4, before: page.next as ListPosition });
    expect(ids(rest.records)).toEqual(listOrder(made).slice(4));
    expect(rest.next).toBeNull();
  });

  test('never lists an expired record, and its index entries go with it', async () => {
    const store = await open();
    const queue = `q-${randomUUID()}`;
    const tenant = `t-${randomUUID()}`;
    const expiring = await Promise.all(Array.from({ length: 6 }, () => store.create(newRequest({ queue, tenant, ttlMs: 300 }))));
    const live = await store.create(newRequest({ queue, tenant, ttlMs: 600_000 }));
    await store.transition({ id: expiring[0]?.id as string, from: ['PENDING'], to: 'PROCESSING', attempt: 1, workerId: 'w' });
    await waitFor(async () => (await store.get(expiring[5]?.id as string)) === undefined, { what: 'the records to expire' });
    for (const query of [{ queue }, { tenant }, { queue, status: 'PENDING' as const }, { tenant, queue, status: 'PROCESSING' as const }]) {
      expect(ids((await listAll(store, { ...query, limit: 2 })))).toEqual(query.status === 'PROCESSING' ? [] : [live.id]);
    }
    await harness().expire?.(store);
    expect(await harness().stored(store, ids(expiring))).toBe(0);
  });
}

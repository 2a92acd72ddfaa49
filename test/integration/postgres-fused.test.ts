/**
 * The fused PostgreSQL pair (queue and store on one database and schema, D185/D186) against the
 * machine's PostgreSQL: its own conformance cases, and the queue and store suites run again
 * through the fused operations (src/conformance/fused.ts). A schema of its own, dropped afterwards.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { fusedPair } from '../../src/adapters/fused/registry.js';
import { factory as queueFactory } from '../../src/adapters/queue/postgres/index.js';
import { factory as storeFactory, type PostgresResultStore } from '../../src/adapters/result-store/postgres/index.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { ResultStore } from '../../src/ports/result-store.js';
import { describeFusedBackend, describeQueueBackend, describeResultStore, fusedQueueView, fusedStoreView, newRequest, type FusedPair } from '../../src/conformance/index.js';
import { dropSchema, POSTGRES_URL, requirePostgres, sql, testSchema } from '../helpers/postgres.js';

const context = { logger: silentLogger };
const schema = testSchema();
const connection = { postgres_url: POSTGRES_URL, schema, pool_size: 4 };

afterAll(async () => {
  if ((await requirePostgres().catch(() => undefined)) === undefined) await dropSchema(schema);
});

async function openPair(options: Readonly<Record<string, unknown>> = {}): Promise<FusedPair> {
  const queue = await queueFactory.create({ ...connection, ...options }, context);
  const store = await storeFactory.create({ ...connection, sweep_interval_ms: 3_600_000 }, context);
  const fused = await fusedPair(queue, store);
  if (fused === undefined) throw new Error('a PostgreSQL queue and store on one schema did not fuse');
  return { queue, store, fused, close: async () => void (await Promise.all([queue.close(), store.close()])) };
}

async function harness<T>(make: () => T): Promise<T | { skip: string }> {
  const missing = await requirePostgres();
  return missing ?? make();
}

describeFusedBackend('postgres', () => harness(() => ({ open: openPair, crash: (pair: FusedPair) => pair.close() })));

describeQueueBackend('postgres, fused', () => harness(() => ({ open: async (options?: Readonly<Record<string, unknown>>) => fusedQueueView(await openPair(options)), crash: (backend: { close(): Promise<void> }) => backend.close() })));

/** The store under each view, for the harness's expiry. */
const stores = new WeakMap<ResultStore, ResultStore>();

describeResultStore('postgres, fused', () =>
  harness(() => ({
    open: async () => {
      const pair = await openPair();
      const view = await fusedStoreView(pair);
      stores.set(view, pair.store);
      return view;
    },
    expire: async (view: ResultStore) => void (await (stores.get(view) as PostgresResultStore).sweep()),
    stored: async (_view: ResultStore, ids: readonly string[]) => storedRows(ids),
  })),
);

describe('postgres fused pairing', () => {
  it('does not fuse a queue and a store in different schemas', async (ctx) => {
    const missing = await requirePostgres();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const other = testSchema();
    const queue = await queueFactory.create({ ...connection, schema: other }, context);
    const store = await storeFactory.create(connection, context);
    try {
      expect(await fusedPair(queue, store)).toBeUndefined();
    } finally {
      await Promise.all([queue.close(), store.close()]);
      await dropSchema(other);
    }
  });

  it('a submit the server refuses for its data fails alone, the rest of its turn lands', async (ctx) => {
    const missing = await requirePostgres();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const pair = await openPair();
    try {
      const queue = `hqm-test-${Date.now()}`;
      const good = Array.from({ length: 5 }, () => newRequest());
      // PostgreSQL text cannot hold NUL: this body fails the statement it is in.
      const results = await Promise.allSettled([
        ...good.map((request) => pair.fused.submit({ request, queue, message: { body: 'fine' } })),
        pair.fused.submit({ request: newRequest(), queue, message: { body: 'bad \0 body' } }),
      ]);
      expect(results.slice(0, 5).every((r) => r.status === 'fulfilled')).toBe(true);
      expect(results[5]?.status).toBe('rejected');
      expect((await pair.queue.stats(queue)).depth).toBe(5);
    } finally {
      await pair.close();
    }
  });
});

/** How many of `ids` have a record or an event row left, read on a connection of its own. */
async function storedRows(ids: readonly string[]): Promise<number> {
  const rows = await sql<{ n: number }>(
    `SELECT count(*)::int AS n FROM unnest($1::text[]) AS i(id)
     WHERE EXISTS (SELECT 1 FROM hqm_requests WHERE id = i.id) OR EXISTS (SELECT 1 FROM hqm_request_events WHERE request_id = i.id)`,
    [ids],
    schema,
  );
  return rows[0]?.n ?? 0;
}

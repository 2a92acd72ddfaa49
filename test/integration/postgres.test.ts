/**
 * The PostgreSQL adapters against the machine's PostgreSQL (127.0.0.1:5432, database `test`).
 * Every run of this file works in a schema of its own, dropped afterwards.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { factory as queueFactory } from '../../src/adapters/queue/postgres/index.js';
import { factory as storeFactory, type PostgresResultStore } from '../../src/adapters/result-store/postgres/index.js';
import { QUEUE_SCHEMA, STORE_SCHEMA } from '../../src/adapters/shared/postgres/sql.js';
import type { HealthReport } from '../../src/ports/health.js';
import { silentLogger } from '../../src/ports/logger.js';
import { describeAnalyticsStore, describeQueueBackend, describeResultStore, newRequest, outcome } from '../../src/conformance/index.js';
import { dropSchema, POSTGRES_URL, requirePostgres, sql, testSchema } from '../helpers/postgres.js';
import { vanishingProxy } from '../helpers/vanishing-proxy.js';
import { deferred, waitFor } from '../helpers/wait.js';

const context = { logger: silentLogger };
const schema = testSchema();
const connection = { postgres_url: POSTGRES_URL, schema, pool_size: 4 };

afterAll(async () => {
  if ((await requirePostgres().catch(() => undefined)) === undefined) await dropSchema(schema);
});

describeQueueBackend('postgres', async () => {
  const missing = await requirePostgres();
  if (missing !== undefined) return missing;
  return {
    open: (extra) => queueFactory.create({ ...connection, ...extra }, context),
    // Closing without settling stands in for a crash: what it held comes back when its lease lapses.
    crash: (backend) => backend.close(),
    unreachable: unreachableHealth,
  };
});

/** health() of a queue whose connections to PostgreSQL went through a proxy that then vanished. */
async function unreachableHealth(): Promise<HealthReport> {
  const target = new URL(POSTGRES_URL);
  const proxy = await vanishingProxy(target.hostname, Number(target.port || 5432));
  const url = new URL(POSTGRES_URL);
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  const queue = await queueFactory.create({ ...connection, postgres_url: url.toString(), connect_timeout_ms: 500 }, context);
  proxy.vanish();
  try {
    return await queue.health();
  } finally {
    await queue.close();
  }
}

describeResultStore('postgres', async () => {
  const missing = await requirePostgres();
  if (missing !== undefined) return missing;
  return {
    // Expiry runs only when a test asks for it (`expire`), so a test sees what one run does.
    open: () => storeFactory.create({ ...connection, sweep_interval_ms: 3_600_000 }, context),
    expire: async (store) => void (await (store as PostgresResultStore).sweep()),
    stored: (_store, ids) => storedRows(ids),
  };
});

describeAnalyticsStore('postgres', async () => {
  const missing = await requirePostgres();
  if (missing !== undefined) return missing;
  return { open: () => storeFactory.create(connection, context) };
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

describe('postgres schema and change feed', () => {
  it('migrates once when several processes start on a fresh schema at the same moment', async (ctx) => {
    const missing = await requirePostgres();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const fresh = testSchema();
    try {
      const options = { ...connection, schema: fresh, pool_size: 2 };
      const opened = await Promise.all([
        ...Array.from({ length: 4 }, () => storeFactory.create(options, context)),
        ...Array.from({ length: 4 }, () => queueFactory.create(options, context)),
      ]);
      await Promise.all(opened.map((adapter) => adapter.close()));
      const versions = await sql<{ component: string; version: number }>('SELECT component, version FROM hqm_schema_versions ORDER BY component', [], fresh);
      expect(versions).toEqual([
        { component: 'queue', version: QUEUE_SCHEMA.length },
        { component: 'store', version: STORE_SCHEMA.length },
      ]);
      // Opening again finds nothing to do and works on the same tables.
      const store = await storeFactory.create(options, context);
      const { id } = await store.create(newRequest());
      expect(await store.get(id)).toMatchObject({ status: 'PENDING' });
      await store.close();
    } finally {
      await dropSchema(fresh);
    }
  });

  it('a transition made while the listening connection is down still reaches the listener, by the catch-up read', async (ctx) => {
    const missing = await requirePostgres();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const writer = await storeFactory.create(connection, context);
    const reader = await storeFactory.create(connection, context);
    try {
      const { id } = await writer.create(newRequest());
      const heard = deferred<void>();
      const statuses: string[] = [];
      const off = reader.onChange((change) => {
        if (change.id !== id) return;
        statuses.push(change.status);
        if (change.status === 'COMPLETED') heard.resolve();
      });
      await reader.get(id); // LISTEN is in place.
      // Cut the reader's LISTEN session (as a server restart or a network drop would), then write at once.
      const cut = await sql<{ ok: boolean }>(
        "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE query = $1 AND pid <> pg_backend_pid()",
        [`LISTEN "openhqm.store.${schema}"`],
      );
      expect(cut.length).toBeGreaterThan(0);
      await writer.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1 });
      await writer.transition({ id, from: ['PROCESSING'], to: 'COMPLETED', attempt: 1, outcome: outcome('done') });
      await heard.promise;
      off();
      // Each change told once, however it arrived.
      expect(statuses).toEqual(['PROCESSING', 'COMPLETED']);
      await waitFor(async () => (await reader.get(id))?.status === 'COMPLETED', { what: 'the reader to see the result' });
    } finally {
      await Promise.all([writer.close(), reader.close()]);
    }
  });
});

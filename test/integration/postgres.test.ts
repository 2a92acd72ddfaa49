/**
 * The PostgreSQL adapters against the machine's PostgreSQL (127.0.0.1:5432, database `test`).
 * Every run of this file works in a schema of its own, dropped afterwards.
 */
import { afterAll } from 'vitest';
import { factory as queueFactory } from '../../src/adapters/queue/postgres/index.js';
import { factory as storeFactory, type PostgresResultStore } from '../../src/adapters/result-store/postgres/index.js';
import { silentLogger } from '../../src/ports/logger.js';
import { describeAnalyticsStore } from '../conformance/analytics-store.js';
import { describeQueueBackend } from '../conformance/queue-backend.js';
import { describeResultStore } from '../conformance/result-store.js';
import { dropSchema, POSTGRES_URL, requirePostgres, sql, testSchema } from '../helpers/postgres.js';

const context = { logger: silentLogger };
const schema = testSchema();
const connection = { postgres_url: POSTGRES_URL, schema, pool_size: 4 };

afterAll(async () => {
  if ((await requirePostgres().catch(() => undefined)) === undefined) await dropSchema(schema);
});

describeQueueBackend('postgres', async () => {
  const missing = await requirePostgres();
  if (missing !== undefined) return missing;
  return { open: (extra) => queueFactory.create({ ...connection, ...extra }, context) };
});

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

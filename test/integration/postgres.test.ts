/**
 * The PostgreSQL adapters against the machine's PostgreSQL (127.0.0.1:5432, database `test`).
 * Every suite of this file works in a schema of its own, dropped afterwards.
 */
import { afterAll } from 'vitest';
import { factory as queueFactory } from '../../src/adapters/queue/postgres/index.js';
import { silentLogger } from '../../src/ports/logger.js';
import { describeQueueBackend } from '../conformance/queue-backend.js';
import { dropSchema, POSTGRES_URL, requirePostgres, testSchema } from '../helpers/postgres.js';

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

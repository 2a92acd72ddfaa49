/**
 * PostgreSQL for tests: the machine's server (postgres://postgres@127.0.0.1:5432/test, or
 * OPENHQM_TEST_POSTGRES_URL), with a schema of its own per suite (`testSchema`), dropped afterwards.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { requireServer } from './servers.js';

export const POSTGRES_URL = process.env.OPENHQM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Skip (or, under CI=true, fail) when the machine's PostgreSQL is not there. */
export function requirePostgres(): Promise<{ skip: string } | undefined> {
  const url = new URL(POSTGRES_URL);
  return requireServer('PostgreSQL', url.hostname, Number(url.port || 5432));
}

/** A schema name no other run uses (a plain identifier, as `postgres.schema` requires). */
export function testSchema(): string {
  return `hqm_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

/** Runs one statement on a connection of its own. */
export async function sql<R extends pg.QueryResultRow>(text: string, values: unknown[] = [], schema?: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }) });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
}

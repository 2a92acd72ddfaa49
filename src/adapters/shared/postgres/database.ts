/**
 * One adapter's connection pool to PostgreSQL, with the schema on its `search_path`, int8
 * columns read as numbers (every one we keep is epoch ms or a count, well inside 2^53), a
 * client-side timeout on every statement, and every driver error translated at this boundary.
 *
 * @module
 */
import pg from 'pg';
import type { HealthReport } from '../../../ports/health.js';
import type { Logger } from '../../../ports/logger.js';
import { translatePgError, unavailable } from './errors.js';
import type { PostgresConnectionOptions } from './options.js';

const INT8_OID = 20;

/** Type parsers of our pools only (pg's `types` is global; another user of `pg` in the process keeps its own). */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary' ? (value: string) => Number(value) : (pg.types.getTypeParser(oid, format as 'text') as unknown)) as pg.CustomTypesConfig['getTypeParser'],
};

/** What every connection of a pool (and a listener) is given. */
export function clientConfig(options: PostgresConnectionOptions): pg.ClientConfig {
  return {
    connectionString: options.postgres_url,
    // SCHEMA_NAME admits plain identifiers only, so it needs no quoting here.
    options: `-c search_path=${options.schema}`,
    connectionTimeoutMillis: options.connect_timeout_ms,
    query_timeout: options.statement_timeout_ms,
    keepAlive: true,
    application_name: 'openhqm',
    types,
  };
}

export class PgDatabase {
  readonly pool: pg.Pool;
  #closed = false;

  constructor(
    readonly options: PostgresConnectionOptions,
    private readonly logger: Logger,
  ) {
    this.pool = new pg.Pool({ ...clientConfig(options), max: options.pool_size, idleTimeoutMillis: 30_000 });
    // An idle connection the server dropped (a restart) is reported here; the pool has already
    // discarded it and opens a new one on demand. Unhandled, it would end the process.
    this.pool.on('error', (error) => {
      this.logger.warn({ err: error }, 'postgres: an idle connection was lost; the pool opens a new one when needed');
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs one statement; its failure comes back translated (`what` names the operation). */
  /** One round trip to the server: what the adapters' health() reports. */
  async health(): Promise<HealthReport> {
    try {
      await this.query('checking health', 'SELECT 1');
      return { ok: true };
    } catch (error) {
      return { ok: false, detail: error instanceof Error ? error.message : String(error) };
    }
  }

  async query<R extends pg.QueryResultRow>(what: string, text: string, values: readonly unknown[] = []): Promise<R[]> {
    if (this.#closed) throw unavailable(`${what}: the PostgreSQL adapter is closed`);
    try {
      return (await this.pool.query<R>(text, values as unknown[])).rows;
    } catch (error) {
      throw translatePgError(error, what);
    }
  }

  /**
   * Runs `body` in one transaction on one connection, committing when it resolves and rolling
   * back when it throws. A connection that failed mid-transaction is destroyed, not reused.
   */
  async transaction<T>(what: string, body: (query: <R extends pg.QueryResultRow>(text: string, values?: readonly unknown[]) => Promise<R[]>) => Promise<T>): Promise<T> {
    if (this.#closed) throw unavailable(`${what}: the PostgreSQL adapter is closed`);
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw translatePgError(error, what);
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await body(async <R extends pg.QueryResultRow>(text: string, values: readonly unknown[] = []) => (await client.query<R>(text, values as unknown[])).rows);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken = rollbackError as Error;
      });
      throw translatePgError(error, what);
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pool.end();
  }
}

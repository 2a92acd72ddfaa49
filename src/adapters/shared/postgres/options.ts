/**
 * Connection options every PostgreSQL-backed adapter shares: the URL from its own section
 * (`queue.postgres_url`, `cache.postgres_url`, like the Redis URLs) and the `postgres:` section.
 *
 * @module
 */
import { z } from 'zod';

/** A schema name used unquoted in SQL and in `search_path`: plain lower-case identifiers only. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export const postgresConnectionSchema = z.object({
  /** `postgres://[user[:password]@]host[:port]/database[?sslmode=…]`, as libpq reads it. */
  postgres_url: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .default('postgres://localhost:5432/openhqm'),
  /** Most connections of the adapter's pool (the change feed's listener is one more). */
  pool_size: z.number().int().min(1).max(1000).default(10),
  /** The schema the tables live in, created when missing; several deployments can share a database. */
  schema: z.string().regex(SCHEMA_NAME, 'must be a lower-case identifier (letters, digits, _), at most 63 characters').default('public'),
  /** How long acquiring a connection (and start-up) waits for PostgreSQL before it fails. */
  connect_timeout_ms: z.number().int().min(100).default(10_000),
  /** A statement without an answer after this long fails (503 to a client) instead of hanging. */
  statement_timeout_ms: z.number().int().min(100).default(5_000),
});

export type PostgresConnectionOptions = z.infer<typeof postgresConnectionSchema>;

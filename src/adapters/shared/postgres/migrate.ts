/**
 * Versioned, idempotent schema migrations, safe with several processes starting at once.
 *
 * Each component (queue, store) has an ordered list of steps; `hqm_schema_versions` records how
 * many of them ran. All of it happens in one transaction holding a transaction-level advisory
 * lock keyed by the schema name, so of processes starting together one migrates and the others
 * wait for it and then find nothing to do; a step that fails rolls back with its version bump
 * (PostgreSQL's DDL is transactional), so a half-applied migration is never left behind.
 *
 * @module
 */
import { HqmError } from '../../../core/errors.js';
import type { PgDatabase } from './database.js';

export async function migrate(db: PgDatabase, component: string, steps: readonly string[]): Promise<void> {
  const schema = db.options.schema;
  await db.transaction(`migrating the ${component} schema`, async (query) => {
    await query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`openhqm.migrate.${schema}`]);
    // Only when missing: CREATE SCHEMA checks the right to create one even when it exists.
    const [exists] = await query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists === undefined) await query(`CREATE SCHEMA ${schema}`);
    await query('CREATE TABLE IF NOT EXISTS hqm_schema_versions (component text PRIMARY KEY, version integer NOT NULL)');
    const [row] = await query<{ version: number }>('SELECT version FROM hqm_schema_versions WHERE component = $1', [component]);
    const current = row?.version ?? 0;
    if (current > steps.length) {
      throw new HqmError(
        'HQM_ERR_CONFIG',
        `the PostgreSQL ${component} schema "${schema}" is at version ${current}, newer than this OpenHQM knows (${steps.length}); upgrade OpenHQM or use another postgres.schema`,
        { details: { schema, component, version: current, known: steps.length } },
      );
    }
    for (const step of steps.slice(current)) await query(step);
    if (current < steps.length) {
      await query(
        `INSERT INTO hqm_schema_versions (component, version) VALUES ($1, $2)
         ON CONFLICT (component) DO UPDATE SET version = excluded.version`,
        [component, steps.length],
      );
    }
  });
}

/**
 * The deployment secret of a SQLite queue file: one row of `hqm_meta`, written by whichever
 * process asks first (INSERT OR IGNORE is atomic across processes), read by all.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { translateSqliteError } from '../../shared/sqlite/errors.js';

const KEY = 'deployment_secret';

export function deploymentSecret(db: Database): string {
  try {
    db.exec('CREATE TABLE IF NOT EXISTS hqm_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    db.prepare('INSERT OR IGNORE INTO hqm_meta (key, value) VALUES (?, ?)').run(KEY, randomBytes(32).toString('hex'));
    const row = db.prepare('SELECT value FROM hqm_meta WHERE key = ?').get(KEY) as { value: string } | undefined;
    if (row === undefined) throw new Error('the deployment secret row vanished as it was written');
    return row.value;
  } catch (error) {
    throw translateSqliteError(error);
  }
}

/** Tables of the SQLite result store: one row per request, one row per transition. */
import type { Database } from 'better-sqlite3';
import { createAnalyticsTable } from './analytics.js';

export function migrateStore(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS hqm_requests (
      id           TEXT    PRIMARY KEY,
      status       TEXT    NOT NULL,
      attempt      INTEGER NOT NULL,
      queue        TEXT    NOT NULL,
      priority     INTEGER NOT NULL,
      submitted_at INTEGER NOT NULL,
      updated_at   INTEGER NOT NULL,
      deadline_at  INTEGER,
      expires_at   INTEGER NOT NULL,
      ttl_ms       INTEGER NOT NULL,
      worker_id    TEXT,
      progress     REAL,
      error        TEXT,
      outcome      TEXT
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS hqm_requests_expiry ON hqm_requests (expires_at);
    CREATE TABLE IF NOT EXISTS hqm_request_events (
      seq         INTEGER PRIMARY KEY AUTOINCREMENT,
      request_id  TEXT    NOT NULL,
      at          INTEGER NOT NULL,
      from_status TEXT,
      to_status   TEXT    NOT NULL,
      attempt     INTEGER NOT NULL,
      worker_id   TEXT,
      error       TEXT
    );
    CREATE INDEX IF NOT EXISTS hqm_request_events_request ON hqm_request_events (request_id, seq);
  `);
  addTenantColumn(db);
  // Counting a tenant's PROCESSING records inside each claim (per-tenant concurrency) must not scan the table.
  db.exec('CREATE INDEX IF NOT EXISTS hqm_requests_tenant_status ON hqm_requests (tenant, status)');
  createIdempotencyTable(db);
  createAnalyticsTable(db);
}

/** Idempotency-Key reservations: a (scope, key) names the ids of the submit that claimed it. */
function createIdempotencyTable(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS hqm_idempotency (
      scope       TEXT    NOT NULL,
      key         TEXT    NOT NULL,
      fingerprint TEXT    NOT NULL,
      ids         TEXT    NOT NULL,
      expires_at  INTEGER NOT NULL,
      PRIMARY KEY (scope, key)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS hqm_idempotency_expiry ON hqm_idempotency (expires_at);
  `);
}

/** Files made before tenants existed get the column (null: submitted without authentication). */
function addTenantColumn(db: Database): void {
  const columns = db.prepare<[], { name: string }>('PRAGMA table_info(hqm_requests)').all();
  if (columns.some((c) => c.name === 'tenant')) return;
  try {
    db.exec('ALTER TABLE hqm_requests ADD COLUMN tenant TEXT');
  } catch (error) {
    // Another process opening the same file added it in between.
    if (!/duplicate column/i.test((error as Error).message)) throw error;
  }
}

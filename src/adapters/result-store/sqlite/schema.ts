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
  // Columns added since: in rows written before them, null reads as no tenant, a transition (not
  // a note), not delayed (D100).
  addColumn(db, 'hqm_requests', 'tenant', 'TEXT');
  addColumn(db, 'hqm_request_events', 'note', 'TEXT');
  addColumn(db, 'hqm_requests', 'run_at', 'INTEGER');
  // The claim's lease (D130); null in rows claimed before it existed reads as lapsed.
  addColumn(db, 'hqm_requests', 'lease_until', 'INTEGER');
  // Counting a tenant's PROCESSING records inside each claim (per-tenant concurrency) must not scan the table.
  db.exec('CREATE INDEX IF NOT EXISTS hqm_requests_tenant_status ON hqm_requests (tenant, status)');
  createIdempotencyTable(db);
  createAnalyticsTable(db);
  createListIndexes(db);
}

/**
 * The indexes `list` reads (statements.ts `listStatement`): one per combination of equality
 * filters, each ending in (submitted_at, id) so a page is one range read in list order, never a
 * scan nor a sort. Those led by the tenant leave out records without one (the partial-index
 * WHERE), which a tenant's query never asks for, so a deployment without authentication pays
 * for four of them only.
 */
export const LIST_INDEXES = {
  all: { name: 'hqm_requests_list', columns: [] },
  status: { name: 'hqm_requests_list_status', columns: ['status'] },
  queue: { name: 'hqm_requests_list_queue', columns: ['queue'] },
  queueStatus: { name: 'hqm_requests_list_queue_status', columns: ['queue', 'status'] },
  tenant: { name: 'hqm_requests_list_tenant', columns: ['tenant'] },
  tenantStatus: { name: 'hqm_requests_list_tenant_status', columns: ['tenant', 'status'] },
  tenantQueue: { name: 'hqm_requests_list_tenant_queue', columns: ['tenant', 'queue'] },
  tenantQueueStatus: { name: 'hqm_requests_list_tenant_queue_status', columns: ['tenant', 'queue', 'status'] },
} as const;

function createListIndexes(db: Database): void {
  for (const { name, columns } of Object.values(LIST_INDEXES)) {
    const partial = (columns as readonly string[]).includes('tenant') ? ' WHERE tenant IS NOT NULL' : '';
    db.exec(`CREATE INDEX IF NOT EXISTS ${name} ON hqm_requests (${[...columns, 'submitted_at', 'id'].join(', ')})${partial}`);
  }
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

/** Adds a column to a table made by an earlier version, unless it is there already. */
function addColumn(db: Database, table: string, column: string, type: string): void {
  const columns = db.prepare<[], { name: string }>(`PRAGMA table_info(${table})`).all();
  if (columns.some((c) => c.name === column)) return;
  try {
    db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  } catch (error) {
    // Another process opening the same file added it in between.
    if (!/duplicate column/i.test((error as Error).message)) throw error;
  }
}


/** The prepared statements of the SQLite result store, compiled once per connection. */
import type { Database, Statement } from 'better-sqlite3';
import type { EventRow, RequestRow } from './rows.js';

export interface StoreStatements {
  readonly insert: Statement<RequestRow>;
  readonly insertEvent: Statement<Omit<EventRow, 'seq'>>;
  readonly live: Statement<{ id: string; now: number }, RequestRow>;
  readonly update: Statement<RequestRow>;
  readonly progress: Statement<{ id: string; attempt: number; progress: number; now: number }>;
  readonly events: Statement<{ id: string }, EventRow>;
  readonly remove: Statement<{ id: string }>;
  readonly removeEvents: Statement<{ id: string }>;
  readonly expired: Statement<{ now: number; limit: number }, { id: string }>;
  readonly maxSeq: Statement<[], { seq: number | null }>;
  readonly since: Statement<{ seq: number; limit: number }, Pick<EventRow, 'seq' | 'request_id' | 'to_status'>>;
  readonly tenantSlots: Statement<{ tenant: string; now: number }, { n: number }>;
}

const cache = new WeakMap<Database, StoreStatements>();

export function storeStatements(db: Database): StoreStatements {
  let stmts = cache.get(db);
  if (stmts === undefined) {
    stmts = prepare(db);
    cache.set(db, stmts);
  }
  return stmts;
}

const COLUMNS = 'id, status, attempt, queue, priority, submitted_at, updated_at, deadline_at, expires_at, ttl_ms, worker_id, progress, error, outcome, tenant';

function prepare(db: Database): StoreStatements {
  return {
    insert: db.prepare(
      `INSERT INTO hqm_requests (${COLUMNS})
       VALUES (:id, :status, :attempt, :queue, :priority, :submitted_at, :updated_at, :deadline_at, :expires_at, :ttl_ms,
               :worker_id, :progress, :error, :outcome, :tenant)`,
    ),
    insertEvent: db.prepare(
      `INSERT INTO hqm_request_events (request_id, at, from_status, to_status, attempt, worker_id, error)
       VALUES (:request_id, :at, :from_status, :to_status, :attempt, :worker_id, :error)`,
    ),
    live: db.prepare(`SELECT ${COLUMNS} FROM hqm_requests WHERE id = :id AND expires_at > :now`),
    update: db.prepare(
      `UPDATE hqm_requests SET status = :status, attempt = :attempt, updated_at = :updated_at, expires_at = :expires_at,
              worker_id = :worker_id, progress = :progress, error = :error, outcome = :outcome
       WHERE id = :id`,
    ),
    progress: db.prepare(
      `UPDATE hqm_requests SET progress = :progress, updated_at = :now
       WHERE id = :id AND status = 'PROCESSING' AND attempt = :attempt AND expires_at > :now`,
    ),
    events: db.prepare('SELECT * FROM hqm_request_events WHERE request_id = :id ORDER BY seq'),
    remove: db.prepare('DELETE FROM hqm_requests WHERE id = :id'),
    removeEvents: db.prepare('DELETE FROM hqm_request_events WHERE request_id = :id'),
    expired: db.prepare('SELECT id FROM hqm_requests WHERE expires_at <= :now LIMIT :limit'),
    maxSeq: db.prepare('SELECT MAX(seq) AS seq FROM hqm_request_events'),
    since: db.prepare('SELECT seq, request_id, to_status FROM hqm_request_events WHERE seq > :seq ORDER BY seq LIMIT :limit'),
    // The rule of slotHeldUntil (core/request/tenant-slots.ts) as SQL.
    tenantSlots: db.prepare(
      `SELECT COUNT(*) AS n FROM hqm_requests INDEXED BY hqm_requests_tenant_status
       WHERE tenant = :tenant AND status = 'PROCESSING' AND expires_at > :now AND (deadline_at IS NULL OR deadline_at > :now)`,
    ),
  };
}

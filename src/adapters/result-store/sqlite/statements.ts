/** The prepared statements of the SQLite result store, compiled once per connection. */
import type { Database, Statement } from 'better-sqlite3';
import type { EventRow, RequestRow } from './rows.js';
import { LIST_INDEXES } from './schema.js';

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
  /** Readiness: one edge of each table and index the store writes, so a damaged one fails it. */
  readonly probe: Statement<[], unknown>;
  readonly since: Statement<{ seq: number; limit: number }, Pick<EventRow, 'seq' | 'request_id' | 'to_status'> & { is_note: 0 | 1 }>;
  readonly tenantSlots: Statement<{ tenant: string; now: number }, { n: number }>;
  /** The claim's lease (D130), kept beside the record and read only by claims. */
  readonly leaseOf: Statement<{ id: string }, { lease_until: number | null }>;
  readonly setLease: Statement<{ id: string; until: number }>;
  readonly renewLease: Statement<{ id: string; attempt: number; until: number; now: number }>;
}

export interface IdempotencyRow {
  readonly scope: string;
  readonly key: string;
  readonly fingerprint: string;
  /** JSON array of correlation ids. */
  readonly ids: string;
  readonly expires_at: number;
}

export interface IdempotencyStatements {
  readonly claimed: Statement<{ scope: string; key: string; now: number }, IdempotencyRow>;
  readonly claim: Statement<IdempotencyRow>;
  readonly release: Statement<{ scope: string; key: string; first: string }>;
  readonly dropExpired: Statement<{ now: number; limit: number }>;
}

const idempotencyCache = new WeakMap<Database, IdempotencyStatements>();

export function idempotencyStatements(db: Database): IdempotencyStatements {
  let stmts = idempotencyCache.get(db);
  if (stmts === undefined) {
    stmts = {
      claimed: db.prepare('SELECT * FROM hqm_idempotency WHERE scope = :scope AND key = :key AND expires_at > :now'),
      // Only reached when no live claim exists, so replacing an expired one is right.
      claim: db.prepare(
        `INSERT INTO hqm_idempotency (scope, key, fingerprint, ids, expires_at) VALUES (:scope, :key, :fingerprint, :ids, :expires_at)
         ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, ids = excluded.ids, expires_at = excluded.expires_at`,
      ),
      release: db.prepare("DELETE FROM hqm_idempotency WHERE scope = :scope AND key = :key AND json_extract(ids, '$[0]') = :first"),
      dropExpired: db.prepare(
        `DELETE FROM hqm_idempotency WHERE (scope, key) IN
           (SELECT scope, key FROM hqm_idempotency WHERE expires_at <= :now LIMIT :limit)`,
      ),
    };
    idempotencyCache.set(db, stmts);
  }
  return stmts;
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

const COLUMNS = 'id, status, attempt, queue, priority, submitted_at, updated_at, deadline_at, expires_at, ttl_ms, worker_id, progress, error, outcome, tenant, run_at';

function prepare(db: Database): StoreStatements {
  return {
    insert: db.prepare(
      `INSERT INTO hqm_requests (${COLUMNS})
       VALUES (:id, :status, :attempt, :queue, :priority, :submitted_at, :updated_at, :deadline_at, :expires_at, :ttl_ms,
               :worker_id, :progress, :error, :outcome, :tenant, :run_at)`,
    ),
    insertEvent: db.prepare(
      `INSERT INTO hqm_request_events (request_id, at, from_status, to_status, attempt, worker_id, error, note)
       VALUES (:request_id, :at, :from_status, :to_status, :attempt, :worker_id, :error, :note)`,
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
    leaseOf: db.prepare('SELECT lease_until FROM hqm_requests WHERE id = :id'),
    setLease: db.prepare('UPDATE hqm_requests SET lease_until = :until WHERE id = :id'),
    renewLease: db.prepare(
      `UPDATE hqm_requests SET lease_until = :until
       WHERE id = :id AND status = 'PROCESSING' AND attempt = :attempt AND expires_at > :now`,
    ),
    remove: db.prepare('DELETE FROM hqm_requests WHERE id = :id'),
    removeEvents: db.prepare('DELETE FROM hqm_request_events WHERE request_id = :id'),
    expired: db.prepare('SELECT id FROM hqm_requests WHERE expires_at <= :now ORDER BY expires_at LIMIT :limit'),
    maxSeq: db.prepare('SELECT MAX(seq) AS seq FROM hqm_request_events'),
    probe: db.prepare(
      `SELECT (SELECT id FROM hqm_requests ORDER BY id DESC LIMIT 1) AS record,
              (SELECT expires_at FROM hqm_requests INDEXED BY hqm_requests_expiry ORDER BY expires_at LIMIT 1) AS expiry,
              (SELECT MAX(seq) FROM hqm_request_events) AS event,
              (SELECT request_id FROM hqm_request_events INDEXED BY hqm_request_events_request ORDER BY request_id DESC LIMIT 1) AS trail`,
    ),
    since: db.prepare('SELECT seq, request_id, to_status, note IS NOT NULL AS is_note FROM hqm_request_events WHERE seq > :seq ORDER BY seq LIMIT :limit'),
    // The rule of slotHeldUntil (core/request/tenant-slots.ts) as SQL.
    tenantSlots: db.prepare(
      `SELECT COUNT(*) AS n FROM hqm_requests INDEXED BY hqm_requests_tenant_status
       WHERE tenant = :tenant AND status = 'PROCESSING' AND expires_at > :now AND (deadline_at IS NULL OR deadline_at > :now)`,
    ),
  };
}

/** Which filters and bounds a list query has: each shape is one statement, prepared once. */
export interface ListShape {
  readonly tenant: boolean;
  readonly queue: boolean;
  readonly status: boolean;
  readonly since: boolean;
  readonly until: boolean;
  readonly before: boolean;
}

export interface ListParams {
  tenant?: string;
  queue?: string;
  status?: string;
  since?: number;
  until?: number;
  before_at?: number;
  before_id?: string;
  now: number;
  limit: number;
}

const listCache = new WeakMap<Database, Map<string, Statement<ListParams, RequestRow>>>();

/**
 * The page query for one shape, pinned (INDEXED BY) to the index whose leading columns are
 * exactly its equality filters, so the order by (submitted_at, id) is the index's own, read
 * backwards from the cursor. Expired rows the sweep has not removed yet are skipped.
 */
export function listStatement(db: Database, shape: ListShape): Statement<ListParams, RequestRow> {
  let cache = listCache.get(db);
  if (cache === undefined) {
    cache = new Map();
    listCache.set(db, cache);
  }
  const key = JSON.stringify(shape);
  let stmt = cache.get(key);
  if (stmt === undefined) {
    stmt = db.prepare(listSql(shape));
    cache.set(key, stmt);
  }
  return stmt;
}

export function listSql(shape: ListShape): string {
  const index = shape.tenant
    ? shape.queue
      ? shape.status
        ? LIST_INDEXES.tenantQueueStatus
        : LIST_INDEXES.tenantQueue
      : shape.status
        ? LIST_INDEXES.tenantStatus
        : LIST_INDEXES.tenant
    : shape.queue
      ? shape.status
        ? LIST_INDEXES.queueStatus
        : LIST_INDEXES.queue
      : shape.status
        ? LIST_INDEXES.status
        : LIST_INDEXES.all;
  const where = ['expires_at > :now'];
  if (shape.tenant) where.push('tenant = :tenant');
  if (shape.queue) where.push('queue = :queue');
  if (shape.status) where.push('status = :status');
  if (shape.since) where.push('submitted_at >= :since');
  if (shape.until) where.push('submitted_at <= :until');
  if (shape.before) where.push('(submitted_at, id) < (:before_at, :before_id)');
  return `SELECT ${COLUMNS} FROM hqm_requests INDEXED BY ${index.name} WHERE ${where.join(' AND ')} ORDER BY submitted_at DESC, id DESC LIMIT :limit`;
}

/**
 * The columns both SQL stores (SQLite, PostgreSQL) keep a record and a trail line in, and their
 * reading back into domain objects: one mapping, so the two stores cannot drift apart.
 *
 * @module
 */
import type { Status } from '../../core/request/lifecycle.js';
import type { Outcome, RequestEvent, RequestRecord } from '../../core/request/record.js';
import { decodeNote } from '../../core/request/trail.js';

export interface RecordColumns {
  readonly id: string;
  readonly status: string;
  readonly attempt: number;
  readonly queue: string;
  readonly priority: number;
  readonly submitted_at: number;
  readonly updated_at: number;
  readonly deadline_at: number | null;
  readonly expires_at: number;
  readonly ttl_ms: number;
  readonly worker_id: string | null;
  readonly progress: number | null;
  readonly error: string | null;
  /** The outcome as JSON text (kept as text so the round trip is exact). */
  readonly outcome: string | null;
  readonly tenant: string | null;
  readonly run_at: number | null;
}

export interface EventColumns {
  readonly at: number;
  readonly from_status: string | null;
  readonly to_status: string;
  readonly attempt: number;
  readonly worker_id: string | null;
  readonly error: string | null;
  /** A TrailNote's JSON; null for a transition. */
  readonly note: string | null;
}

export function recordFromColumns(row: RecordColumns): RequestRecord {
  return {
    id: row.id,
    status: row.status as Status,
    attempt: row.attempt,
    queue: row.queue,
    priority: row.priority,
    submittedAt: row.submitted_at,
    updatedAt: row.updated_at,
    deadlineAt: row.deadline_at,
    expiresAt: row.expires_at,
    ttlMs: row.ttl_ms,
    workerId: row.worker_id,
    progress: row.progress,
    error: row.error,
    outcome: row.outcome === null ? null : (JSON.parse(row.outcome) as Outcome),
    tenant: row.tenant,
    runAt: row.run_at,
  };
}

export function eventFromColumns(row: EventColumns): RequestEvent {
  return {
    at: row.at,
    from: row.from_status as Status | null,
    to: row.to_status as Status,
    attempt: row.attempt,
    workerId: row.worker_id,
    error: row.error,
    ...(row.note === null ? {} : { note: decodeNote(row.note) }),
  };
}

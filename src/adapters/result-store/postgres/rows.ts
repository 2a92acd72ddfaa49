/** Converting between the PostgreSQL store's rows and domain records. */
import type { Outcome, RequestEvent, RequestRecord } from '../../../core/request/record.js';
import { eventFromColumns, recordFromColumns } from '../../shared/record-rows.js';

export interface RequestRow {
  readonly id: string;
  readonly status: string;
  readonly attempt: number;
  readonly version: number;
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
  /** JSON text, not jsonb: jsonb would reorder keys and refuse \u0000, and the round trip must be exact. */
  readonly outcome: string | null;
  readonly tenant: string | null;
  readonly run_at: number | null;
}

export interface EventRow {
  readonly at: number;
  readonly from_status: string | null;
  readonly to_status: string;
  readonly attempt: number;
  readonly worker_id: string | null;
  readonly error: string | null;
  readonly note: string | null;
}

/** The values of CREATE, in its order. */
export function createValues(record: RequestRecord): unknown[] {
  return [
    record.id,
    record.status,
    record.attempt,
    record.queue,
    record.priority,
    record.submittedAt,
    record.updatedAt,
    record.deadlineAt,
    record.expiresAt,
    record.ttlMs,
    record.workerId,
    record.progress,
    record.error,
    outcomeText(record.outcome),
    record.tenant,
    record.runAt,
  ];
}

export function outcomeText(outcome: Outcome | null): string | null {
  return outcome === null ? null : JSON.stringify(outcome);
}

export function fromRow(row: RequestRow): RequestRecord {
  return recordFromColumns(row);
}

export function eventFromRow(row: EventRow): RequestEvent {
  return eventFromColumns(row);
}

/**
 * Free text from outside (a processor's error message, a worker id) as PostgreSQL text, which
 * cannot hold NUL: each becomes U+FFFD, so a stray NUL cannot make a transition fail. JSON
 * (outcomes, notes) needs nothing: JSON.stringify escapes it.
 */
export function pgText(text: string | null): string | null {
  return text !== null && text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
}

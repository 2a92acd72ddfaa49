/** Converting between store rows and domain records. */
import type { RequestEvent, RequestRecord } from '../../../core/request/record.js';
import { encodeNote } from '../../../core/request/trail.js';
import { eventFromColumns, recordFromColumns, type EventColumns, type RecordColumns } from '../../shared/record-rows.js';

export type RequestRow = RecordColumns;

export interface EventRow extends EventColumns {
  readonly seq: number;
  readonly request_id: string;
}

export function toRow(record: RequestRecord): RequestRow {
  return {
    id: record.id,
    status: record.status,
    attempt: record.attempt,
    queue: record.queue,
    priority: record.priority,
    submitted_at: record.submittedAt,
    updated_at: record.updatedAt,
    deadline_at: record.deadlineAt,
    expires_at: record.expiresAt,
    ttl_ms: record.ttlMs,
    worker_id: record.workerId,
    progress: record.progress,
    error: record.error,
    outcome: record.outcome === null ? null : JSON.stringify(record.outcome),
    tenant: record.tenant,
    run_at: record.runAt,
  };
}

export function fromRow(row: RequestRow): RequestRecord {
  return recordFromColumns(row);
}

export function eventToRow(id: string, event: RequestEvent): Omit<EventRow, 'seq'> {
  return {
    request_id: id,
    at: event.at,
    from_status: event.from,
    to_status: event.to,
    attempt: event.attempt,
    worker_id: event.workerId,
    error: event.error,
    note: event.note === undefined ? null : encodeNote(event.note),
  };
}

export function eventFromRow(row: EventRow): RequestEvent {
  return eventFromColumns(row);
}

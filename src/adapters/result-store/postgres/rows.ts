/** Converting between the PostgreSQL store's rows and domain records. */
import type { Outcome, RequestEvent, RequestRecord } from '../../../core/request/record.js';
import { eventFromColumns, recordFromColumns, type EventColumns, type RecordColumns } from '../../shared/record-rows.js';

/** The record's columns (outcome as JSON text, not jsonb: jsonb would reorder keys and refuse \u0000). */
export interface RequestRow extends RecordColumns {
  /** Grows with every write: the compare-and-set compares it. */
  readonly version: number;
}

export type EventRow = EventColumns;

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

/** How records look on the wire: the original's JSON shapes, times as ISO-8601. */
import type { ErrorCode } from '../core/errors.js';
import { isTerminal } from '../core/request/lifecycle.js';
import type { RequestEvent, RequestRecord } from '../core/request/record.js';

const iso = (ms: number): string => new Date(ms).toISOString();

export function presentStatus(record: RequestRecord) {
  return {
    correlation_id: record.id,
    status: record.status,
    submitted_at: iso(record.submittedAt),
    updated_at: iso(record.updatedAt),
    progress: record.progress,
  };
}

export function presentResult(record: RequestRecord) {
  const outcome = isTerminal(record.status) ? record.outcome : null;
  return {
    correlation_id: record.id,
    status: record.status,
    result: outcome?.result ?? null,
    headers: outcome?.headers ?? null,
    status_code: outcome?.statusCode ?? null,
    error: outcome?.error ?? (record.status === 'CANCELLED' ? 'cancelled' : null),
    error_code: errorCodeOf(record),
    processing_time_ms: outcome?.processingTimeMs ?? null,
    completed_at: outcome === null ? null : iso(outcome.completedAt),
  };
}

/** Why a request failed or timed out, as a catalogue code (docs/errors.md); null otherwise. */
export function errorCodeOf(record: RequestRecord): ErrorCode | null {
  if (record.status === 'TIMEOUT') return 'HQM_ERR_DEADLINE_EXCEEDED';
  // Records written before codes were kept carry none: the processor's own error is the likely cause.
  if (record.status === 'FAILED') return record.outcome?.errorCode ?? 'HQM_ERR_PROCESSOR_FAILED';
  return null;
}

export function presentEvents(id: string, events: readonly RequestEvent[]) {
  return {
    correlation_id: id,
    events: events.map((e) => ({ at: iso(e.at), from: e.from, to: e.to, attempt: e.attempt, worker_id: e.workerId, error: e.error })),
  };
}

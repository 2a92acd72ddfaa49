/** How records look on the wire: the original's JSON shapes, times as ISO-8601. */
import { ERROR_CATALOGUE, type ErrorCode } from '../core/errors.js';
import { isReplayEvent, isTerminal } from '../core/request/lifecycle.js';
import type { RequestEvent, RequestRecord } from '../core/request/record.js';
import { isoTime as iso } from '../core/iso-time.js';


export function presentStatus(record: RequestRecord) {
  return {
    correlation_id: record.id,
    status: record.status,
    submitted_at: iso(record.submittedAt),
    updated_at: iso(record.updatedAt),
    progress: record.progress,
    run_at: record.runAt === null ? null : iso(record.runAt),
    ...nextIdOf(record),
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
    ...nextIdOf(record),
  };
}

/** `next_id` once the request chained a follow-up (metadata.then); absent otherwise, so other answers keep their shape. */
function nextIdOf(record: RequestRecord): { next_id?: string } {
  const next = record.status === 'COMPLETED' ? record.outcome?.nextId : undefined;
  return typeof next === 'string' ? { next_id: next } : {};
}

/** Why a request failed or timed out, as a catalogue code (docs/errors.md); null otherwise. */
export function errorCodeOf(record: RequestRecord): ErrorCode | null {
  if (record.status === 'TIMEOUT') return 'HQM_ERR_DEADLINE_EXCEEDED';
  // Records written before codes were kept carry none: the processor's own error is the likely cause.
  if (record.status === 'FAILED') return record.outcome?.errorCode ?? 'HQM_ERR_PROCESSOR_FAILED';
  if (record.status === 'CANCELLED') return 'HQM_ERR_CANCELLED';
  return null;
}

/** The request resource (`GET`/`DELETE /api/v1/requests/{id}`): the status and the result in one body. */
export function presentRequest(record: RequestRecord) {
  return { ...presentStatus(record), ...presentResult(record) };
}

/**
 * The HTTP status of the request resource, which a client that follows only HTTP semantics
 * (an LRO poller) reads as the outcome: 202 while pending, 200 once COMPLETED, and for any
 * other end the status the catalogue gives the body's `error_code` — so the code and the
 * status always agree (FAILED: 502 for a processor's error, 422 for a routing one; TIMEOUT:
 * 504; CANCELLED: 409). See D75 in docs/architecture.md.
 */
export function requestHttpStatus(record: RequestRecord): number {
  if (!isTerminal(record.status)) return 202;
  const code = errorCodeOf(record);
  return code === null ? 200 : ERROR_CATALOGUE[code].httpStatus;
}

export function presentEvents(id: string, events: readonly RequestEvent[]) {
  return {
    correlation_id: id,
    // A replay of a dead letter is marked: it is the only move out of FAILED or TIMEOUT.
    events: events.map((e) => ({ at: iso(e.at), from: e.from, to: e.to, attempt: e.attempt, worker_id: e.workerId, error: e.error, ...(isReplayEvent(e) ? { kind: 'replayed' } : {}), ...(e.note === undefined ? {} : { note: e.note }) })),
  };
}

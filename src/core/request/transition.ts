/**
 * The compare-and-set every result store applies, as one pure function: given the current
 * record and a requested change, either the new record and its audit event, or a refusal.
 * Stores run it inside their own atomic step (a transaction, a Lua script, a single-threaded
 * section), so the rules live in exactly one place.
 *
 * @module
 */
import { attemptMayMove, canTransition, isTerminal, type Status } from './lifecycle.js';
import type { NewRequest, Outcome, RequestEvent, RequestRecord } from './record.js';

export interface TransitionChange {
  readonly from: readonly Status[];
  readonly to: Status;
  readonly attempt: number;
  readonly workerId?: string | null;
  readonly error?: string | null;
  readonly outcome?: Outcome;
}

export type TransitionPlan =
  | { readonly ok: true; readonly record: RequestRecord; readonly event: RequestEvent }
  | { readonly ok: false };

export function planTransition(current: RequestRecord, change: TransitionChange, now: number): TransitionPlan {
  if (!change.from.includes(current.status)) return { ok: false };
  if (!canTransition(current.status, change.to)) return { ok: false };
  if (!attemptMayMove(current, change.to, change.attempt)) return { ok: false };
  const terminal = isTerminal(change.to);
  const error = change.error === undefined ? current.error : change.error;
  const record: RequestRecord = {
    ...current,
    status: change.to,
    attempt: change.attempt,
    updatedAt: now,
    workerId: change.workerId === undefined ? current.workerId : change.workerId,
    error,
    // A new attempt starts its progress from scratch.
    progress: change.to === 'PROCESSING' ? null : current.progress,
    outcome: terminal ? (change.outcome ?? emptyOutcome(change.error ?? null, now)) : null,
    // A finished request lives ttl from when it finished, not from when it was submitted.
    expiresAt: terminal ? now + current.ttlMs : current.expiresAt,
  };
  const event: RequestEvent = {
    at: now,
    from: current.status,
    to: change.to,
    attempt: change.attempt,
    workerId: record.workerId,
    error: change.error ?? null,
  };
  return { ok: true, record, event };
}

/** The record and first event of a freshly submitted request. */
export function initialRecord(request: NewRequest): { record: RequestRecord; event: RequestEvent } {
  const record: RequestRecord = {
    id: request.id,
    status: 'PENDING',
    attempt: 0,
    queue: request.queue,
    priority: request.priority,
    submittedAt: request.submittedAt,
    updatedAt: request.submittedAt,
    deadlineAt: request.deadlineAt,
    expiresAt: request.submittedAt + request.ttlMs,
    ttlMs: request.ttlMs,
    workerId: null,
    progress: null,
    error: null,
    outcome: null,
  };
  return { record, event: { at: request.submittedAt, from: null, to: 'PENDING', attempt: 0, workerId: null, error: null } };
}

function emptyOutcome(error: string | null, now: number): Outcome {
  return { result: null, statusCode: null, headers: null, processingTimeMs: null, error, completedAt: now };
}

/**
 * The compare-and-set every result store applies, as one pure function: given the current
 * record and a requested change, either the new record and its audit event, or a refusal.
 * Stores run it inside their own atomic step (a transaction, a single-threaded section), so
 * the rules live in exactly one place.
 *
 * A store whose atomic step cannot call TypeScript (a Redis Lua script) applies the same rules
 * compiled to data by `compileTransition`: a guard (the statuses the move may start from, with
 * the lifecycle table already applied, and the attempt fence) and the writes (fields that do
 * not depend on the current record). `planTransition` is itself built from these two halves,
 * so the compiled form cannot drift from it.
 *
 * @module
 */
import { attemptFence, canTransition, fenceHolds, isTerminal, type AttemptFence, type Status } from './lifecycle.js';
import type { NewRequest, Outcome, RequestEvent, RequestRecord } from './record.js';

export interface TransitionChange {
  readonly from: readonly Status[];
  readonly to: Status;
  readonly attempt: number;
  readonly workerId?: string | null;
  readonly error?: string | null;
  readonly outcome?: Outcome;
  /**
   * A move back to PENDING that gives the attempt back (a release at shutdown, a deferral): the
   * record keeps `attempt - 1`, so the next claim runs under this same number again (the
   * attempt counts runs that ended, D131). The trail's event still names `attempt`.
   */
  readonly refund?: boolean;
}

export type TransitionPlan =
  | { readonly ok: true; readonly record: RequestRecord; readonly event: RequestEvent }
  | { readonly ok: false };

/** When a compare-and-set may apply: the record's status and attempt, checked atomically by the store. */
export interface TransitionGuard {
  /** The caller's `from`, narrowed to the statuses the lifecycle lets move to the target. */
  readonly from: readonly Status[];
  readonly fence: AttemptFence;
  readonly attempt: number;
}

/** What an applied transition writes, none of it read from the current record. */
export interface TransitionWrites {
  readonly status: Status;
  /** The attempt making the move, as the audit event records it. */
  readonly attempt: number;
  /** The attempt the record keeps: `attempt`, or one less for a refund (see TransitionChange). */
  readonly recordAttempt: number;
  readonly updatedAt: number;
  /** undefined keeps the record's value. */
  readonly workerId: string | null | undefined;
  /** undefined keeps the record's value (the last error survives a retry's wait). */
  readonly error: string | null | undefined;
  /** A new attempt starts its progress from scratch. */
  readonly resetProgress: boolean;
  /** Written with a terminal status; null otherwise. */
  readonly outcome: Outcome | null;
  /** A finished request lives its TTL from when it finished: expiresAt = updatedAt + ttlMs. */
  readonly restartTtl: boolean;
  /** The error the audit event records. */
  readonly eventError: string | null;
}

export function compileTransition(change: TransitionChange, now: number): { guard: TransitionGuard; writes: TransitionWrites } {
  const terminal = isTerminal(change.to);
  return {
    guard: { from: change.from.filter((status) => canTransition(status, change.to)), fence: attemptFence(change.to), attempt: change.attempt },
    writes: {
      status: change.to,
      attempt: change.attempt,
      recordAttempt: change.refund === true && change.to === 'PENDING' ? Math.max(0, change.attempt - 1) : change.attempt,
      updatedAt: now,
      workerId: change.workerId,
      error: change.error,
      resetProgress: change.to === 'PROCESSING',
      outcome: terminal ? (change.outcome ?? emptyOutcome(change.error ?? null, now)) : null,
      restartTtl: terminal,
      eventError: change.error ?? null,
    },
  };
}

export function guardAllows(guard: TransitionGuard, current: Pick<RequestRecord, 'status' | 'attempt'>): boolean {
  return guard.from.includes(current.status) && fenceHolds(guard.fence, current, guard.attempt);
}

/** The record and audit event after `writes` land on `current`. */
export function applyWrites(current: RequestRecord, writes: TransitionWrites): { record: RequestRecord; event: RequestEvent } {
  const record: RequestRecord = {
    ...current,
    status: writes.status,
    attempt: writes.recordAttempt,
    updatedAt: writes.updatedAt,
    workerId: writes.workerId === undefined ? current.workerId : writes.workerId,
    error: writes.error === undefined ? current.error : writes.error,
    progress: writes.resetProgress ? null : current.progress,
    outcome: writes.outcome,
    expiresAt: writes.restartTtl ? writes.updatedAt + current.ttlMs : current.expiresAt,
  };
  const event: RequestEvent = {
    at: writes.updatedAt,
    from: current.status,
    to: writes.status,
    attempt: writes.attempt,
    workerId: record.workerId,
    error: writes.eventError,
  };
  return { record, event };
}

export function planTransition(current: RequestRecord, change: TransitionChange, now: number): TransitionPlan {
  const { guard, writes } = compileTransition(change, now);
  if (!guardAllows(guard, current)) return { ok: false };
  return { ok: true, ...applyWrites(current, writes) };
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
    // A record outlives its deadline (and a delayed one its due time) by the TTL: it cannot
    // vanish while it may still run or finish.
    expiresAt: Math.max(request.submittedAt, request.deadlineAt ?? request.submittedAt, request.runAt ?? request.submittedAt) + request.ttlMs,
    ttlMs: request.ttlMs,
    workerId: null,
    progress: null,
    error: null,
    outcome: null,
    tenant: request.tenant ?? null,
    runAt: request.runAt ?? null,
  };
  return { record, event: { at: request.submittedAt, from: null, to: 'PENDING', attempt: 0, workerId: null, error: null } };
}

function emptyOutcome(error: string | null, now: number): Outcome {
  return { result: null, statusCode: null, headers: null, processingTimeMs: null, error, completedAt: now };
}

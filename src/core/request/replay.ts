/**
 * The replay of a failed request, as one pure function: a FAILED or TIMEOUT record goes back
 * to PENDING under the same correlation id, with a fresh attempt budget (attempt 0: the
 * replayed message's first delivery is attempt 1 again), a fresh deadline (the replayed
 * envelope's), no worker, error, progress or outcome, and a TTL counted as for a new request.
 * Stores run it inside their own atomic step, like `planTransition`; the move is recorded in
 * the trail as FAILED/TIMEOUT → PENDING, which `isReplayEvent` reads as `replayed`. D95.
 *
 * @module
 */
import { canReplay, REPLAYABLE_STATUSES } from './lifecycle.js';
import type { RequestEvent, RequestRecord } from './record.js';
import type { TransitionPlan } from './transition.js';

export interface ReplayChange {
  readonly id: string;
  /** The replayed request's new deadline (epoch ms); null for none. */
  readonly deadlineAt: number | null;
}

/** The statuses a replay may start from, for stores whose atomic step cannot call TypeScript. */
export const REPLAY_FROM: readonly string[] = REPLAYABLE_STATUSES;

export function planReplay(current: RequestRecord, change: ReplayChange, now: number): TransitionPlan {
  if (!canReplay(current.status)) return { ok: false };
  return { ok: true, ...replayed(current, change.deadlineAt, now) };
}

/** The record and trail event after a replay of `current` at `now` (the guard already held). */
export function replayed(current: RequestRecord, deadlineAt: number | null, now: number): { record: RequestRecord; event: RequestEvent } {
  const record: RequestRecord = {
    ...current,
    status: 'PENDING',
    attempt: 0,
    updatedAt: now,
    deadlineAt,
    // As for a new request: it cannot vanish while it may still finish.
    expiresAt: replayExpiry(now, deadlineAt, current.ttlMs),
    workerId: null,
    progress: null,
    error: null,
    outcome: null,
  };
  return { record, event: { at: now, from: current.status, to: 'PENDING', attempt: 0, workerId: null, error: null } };
}

export function replayExpiry(now: number, deadlineAt: number | null, ttlMs: number): number {
  return Math.max(now, deadlineAt ?? now) + ttlMs;
}

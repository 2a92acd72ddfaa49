/**
 * The request lifecycle: the states a request passes through and the only moves allowed
 * between them. Pure data and functions; every store applies `canTransition` inside its
 * compare-and-set, so the table below is the single source of truth (drawn in docs/lifecycle.md).
 *
 * @module
 */

export const STATUSES = ['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'TIMEOUT', 'CANCELLED'] as const;
export type Status = (typeof STATUSES)[number];

const NEXT: Readonly<Record<Status, readonly Status[]>> = {
  PENDING: ['PROCESSING', 'CANCELLED', 'TIMEOUT'],
  // PROCESSING -> PROCESSING is a take-over: the message was redelivered because the attempt
  // that held it was lost (worker crash, visibility timeout), and a later attempt claims it.
  // PROCESSING -> PENDING is a retry (or a release on shutdown) waiting for its next delivery.
  // PROCESSING -> CANCELLED is a client's DELETE: the running attempt's late result then loses
  // its compare-and-set, and its worker aborts the processor when the change feed tells it.
  PROCESSING: ['COMPLETED', 'FAILED', 'PENDING', 'TIMEOUT', 'PROCESSING', 'CANCELLED'],
  COMPLETED: [],
  FAILED: [],
  TIMEOUT: [],
  CANCELLED: [],
};

export const TERMINAL_STATUSES: ReadonlySet<Status> = new Set<Status>(['COMPLETED', 'FAILED', 'TIMEOUT', 'CANCELLED']);

export function isStatus(value: unknown): value is Status {
  return typeof value === 'string' && (STATUSES as readonly string[]).includes(value);
}

export function isTerminal(status: Status): boolean {
  return TERMINAL_STATUSES.has(status);
}

export function canTransition(from: Status, to: Status): boolean {
  return NEXT[from].includes(to);
}

/**
 * The attempt fence of a move to `to`, as data: while the record is in `holder`, the attempt
 * making the move must be the `same` as the record's, or a `later` one. Stores whose atomic
 * step cannot call TypeScript (a Lua script) apply this record instead of re-stating the rule.
 */
export interface AttemptFence {
  readonly holder: Status;
  readonly rule: 'same' | 'later';
}

export function attemptFence(to: Status): AttemptFence {
  return { holder: 'PROCESSING', rule: to === 'PROCESSING' ? 'later' : 'same' };
}

/**
 * The fencing rule that makes a late duplicate harmless. A PROCESSING record belongs to the
 * attempt that claimed it: only that same attempt may move it on, and only a later attempt
 * may take it over. From any other state the attempt number does not matter.
 */
export function attemptMayMove(current: { status: Status; attempt: number }, to: Status, attempt: number): boolean {
  return fenceHolds(attemptFence(to), current, attempt);
}

export function fenceHolds(fence: AttemptFence, current: { status: Status; attempt: number }, attempt: number): boolean {
  if (current.status !== fence.holder) return true;
  return fence.rule === 'later' ? attempt > current.attempt : attempt === current.attempt;
}

/**
 * Replay of a dead letter (`POST /api/v1/dead-letters/{id}/replay`, an operator's act): the only
 * move out of a terminal status, and only from these, back to PENDING with a fresh attempt
 * budget and deadline. It is not in the table above, so `canTransition` — and with it every
 * worker and client compare-and-set — never makes it; stores apply it only through their
 * `replay` (core/request/replay.ts). D95.
 */
export const REPLAYABLE_STATUSES: readonly Status[] = ['FAILED', 'TIMEOUT'];

export function canReplay(from: Status): boolean {
  return REPLAYABLE_STATUSES.includes(from);
}

/** The trail's mark of a replay: a move from a replayable status back to PENDING, which nothing else makes. */
export function isReplayEvent(event: { readonly from: Status | null; readonly to: Status }): boolean {
  return event.from !== null && canReplay(event.from) && event.to === 'PENDING';
}

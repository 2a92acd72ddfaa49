/**
 * Keeping the SQLite dead-letter table within `queue.dead_letter_retention_seconds` and
 * `queue.dead_letter_max` per queue: trimmed in the transaction that adds a dead letter, and
 * every minute for every queue (so age is enforced while nothing new is dead-lettered); reads
 * skip what is past its retention in between.
 *
 * @module
 */
import type { DeadLetterBounds } from '../../shared/dead-letters.js';
import type { QueueStatements } from './statements.js';

export const DEAD_LETTER_SWEEP_MS = 60_000;

/** Runs inside a write transaction. */
export function trimDeadLetters(stmts: QueueStatements, queue: string, now: number, bounds: DeadLetterBounds): void {
  stmts.trimDeadAge.run({ queue, cutoff: now - bounds.retentionMs });
  stmts.trimDeadCount.run({ queue, max: bounds.max });
}

/** Trims every queue's dead letters; runs inside a write transaction. */
export function trimAllDeadLetters(stmts: QueueStatements, now: number, bounds: DeadLetterBounds): void {
  for (const { queue } of stmts.deadQueues.all()) trimDeadLetters(stmts, queue, now, bounds);
}

/**
 * Keeping the SQLite dead-letter table within `queue.dead_letter_retention_seconds` and
 * `queue.dead_letter_max` per queue: trimmed in the transaction that adds a dead letter, and
 * every minute for every queue (so age is enforced while nothing new is dead-lettered); reads
 * skip what is past its retention in between.
 *
 * @module
 */
import type { Database, Statement } from 'better-sqlite3';
import type { DeadLetter } from '../../../ports/queue-backend.js';
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

export interface DeadLetterRow {
  readonly id: number;
  readonly message_id: string;
  readonly body: string;
  readonly attempts: number;
  readonly reason: string;
  readonly dead_lettered_at: number;
}

/** The statements behind browsing, removing, purging and replaying dead letters. */
export interface DeadLetterStatements {
  /** Newest first, older than the id `before`, younger than `cutoff` (retention). */
  readonly page: Statement<{ queue: string; before: number; cutoff: number; limit: number }, DeadLetterRow>;
  readonly get: Statement<{ queue: string; id: number; cutoff: number }, DeadLetterRow>;
  readonly remove: Statement<{ queue: string; id: number }>;
  readonly purge: Statement<{ queue: string; before: number }>;
}

const cache = new WeakMap<Database, DeadLetterStatements>();

export function deadLetterStatements(db: Database): DeadLetterStatements {
  let stmts = cache.get(db);
  if (stmts === undefined) {
    const columns = 'id, message_id, body, attempts, reason, dead_lettered_at';
    stmts = {
      page: db.prepare(
        `SELECT ${columns} FROM hqm_dead_letters INDEXED BY hqm_dead_letters_queue
         WHERE queue = :queue AND id < :before AND dead_lettered_at >= :cutoff ORDER BY id DESC LIMIT :limit`,
      ),
      get: db.prepare(`SELECT ${columns} FROM hqm_dead_letters WHERE id = :id AND queue = :queue AND dead_lettered_at >= :cutoff`),
      remove: db.prepare('DELETE FROM hqm_dead_letters WHERE id = :id AND queue = :queue'),
      purge: db.prepare('DELETE FROM hqm_dead_letters WHERE queue = :queue AND dead_lettered_at < :before'),
    };
    cache.set(db, stmts);
  }
  return stmts;
}

/** SQLite dead-letter ids are the table's positive integer keys; anything else names none. */
export function parseDeadLetterId(id: string): number | undefined {
  return /^[1-9][0-9]{0,15}$/.test(id) ? Number(id) : undefined;
}

export function deadLetterOf(row: DeadLetterRow): DeadLetter {
  return { id: String(row.id), messageId: row.message_id, body: row.body, attempts: row.attempts, reason: row.reason, deadLetteredAt: row.dead_lettered_at };
}

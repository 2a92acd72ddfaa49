/** The prepared statements of the SQLite queue, compiled once per connection. */
import type { Database, Statement } from 'better-sqlite3';

export interface MessageRow {
  readonly id: number;
  readonly body: string;
  readonly attempts: number;
  readonly priority: number;
  readonly partition_key: string | null;
  readonly enqueued_at: number;
}

export interface QueueStatements {
  readonly insert: Statement<{ queue: string; priority: number; visible_at: number; partition_key: string | null; enqueued_at: number; body: string }>;
  /** Leases up to `limit` visible messages, highest priority first, FIFO within a priority. */
  readonly claim: Statement<{ queue: string; now: number; until: number; lease: string; limit: number }, MessageRow>;
  readonly ack: Statement<{ id: number; lease: string }>;
  readonly retry: Statement<{ id: number; lease: string; visible_at: number }>;
  readonly release: Statement<{ id: number; lease: string; visible_at: number }>;
  readonly extend: Statement<{ id: number; lease: string; until: number }>;
  readonly take: Statement<{ id: number; lease: string }, { body: string; attempts: number }>;
  readonly bury: Statement<{ queue: string; message_id: string; body: string; attempts: number; reason: string; at: number }>;
  readonly nextDue: Statement<{ queue: string }, { due: number | null }>;
  readonly counts: Statement<{ queue: string; now: number }, { total: number; in_flight: number | null; delayed: number | null }>;
  /** The earliest visibility time of the queue: the oldest ready message's, when it is not in the future. */
  readonly oldestVisible: Statement<{ queue: string }, { at: number | null }>;
  /** Dead letters still kept (younger than `cutoff`). */
  readonly deadCount: Statement<{ queue: string; cutoff: number }, { n: number }>;
  readonly deadList: Statement<{ queue: string; cutoff: number; limit: number }, { id: number; message_id: string; body: string; attempts: number; reason: string; dead_lettered_at: number }>;
  readonly deadQueues: Statement<[], { queue: string }>;
  /** Readiness: one edge of each table and index the queue writes, so a damaged one fails it. */
  readonly probe: Statement<[], unknown>;
  /** Drops a queue's dead letters older than `cutoff`. */
  readonly trimDeadAge: Statement<{ queue: string; cutoff: number }>;
  /** Drops a queue's dead letters beyond the newest `max`. */
  readonly trimDeadCount: Statement<{ queue: string; max: number }>;
}

const cache = new WeakMap<Database, QueueStatements>();

export function queueStatements(db: Database): QueueStatements {
  let stmts = cache.get(db);
  if (stmts === undefined) {
    stmts = prepare(db);
    cache.set(db, stmts);
  }
  return stmts;
}

function prepare(db: Database): QueueStatements {
  return {
    insert: db.prepare(
      `INSERT INTO hqm_queue_messages (queue, priority, visible_at, partition_key, enqueued_at, body)
       VALUES (:queue, :priority, :visible_at, :partition_key, :enqueued_at, :body)`,
    ),
    // INDEXED BY keeps the planner on the (queue, priority DESC, id) order even when a large
    // backlog makes the visible_at index look cheaper; sorting 20k rows per claim would not be.
    // A message with a partition key is a candidate only while it is the oldest of its key,
    // so a key's messages go one at a time, in order (its head may be leased or delayed).
    claim: db.prepare(
      `UPDATE hqm_queue_messages SET lease = :lease, visible_at = :until, attempts = attempts + 1
       WHERE id IN (SELECT m.id FROM hqm_queue_messages AS m INDEXED BY hqm_queue_order
                    WHERE m.queue = :queue AND m.visible_at <= :now
                      AND (m.partition_key IS NULL
                           OR m.id = (SELECT MIN(h.id) FROM hqm_queue_messages AS h
                                      WHERE h.queue = m.queue AND h.partition_key = m.partition_key))
                    ORDER BY m.priority DESC, m.id LIMIT :limit)
       RETURNING id, body, attempts, priority, partition_key, enqueued_at`,
    ),
    ack: db.prepare('DELETE FROM hqm_queue_messages WHERE id = :id AND lease = :lease'),
    retry: db.prepare('UPDATE hqm_queue_messages SET lease = NULL, visible_at = :visible_at WHERE id = :id AND lease = :lease'),
    release: db.prepare(
      'UPDATE hqm_queue_messages SET lease = NULL, visible_at = :visible_at, attempts = attempts - 1 WHERE id = :id AND lease = :lease',
    ),
    extend: db.prepare('UPDATE hqm_queue_messages SET visible_at = :until WHERE id = :id AND lease = :lease'),
    take: db.prepare('DELETE FROM hqm_queue_messages WHERE id = :id AND lease = :lease RETURNING body, attempts'),
    bury: db.prepare(
      `INSERT INTO hqm_dead_letters (queue, message_id, body, attempts, reason, dead_lettered_at)
       VALUES (:queue, :message_id, :body, :attempts, :reason, :at)`,
    ),
    // Only candidates count: a message waiting behind the head of its key is not due on its own.
    nextDue: db.prepare(
      `SELECT MIN(due) AS due FROM (
         SELECT MIN(visible_at) AS due FROM hqm_queue_messages WHERE queue = :queue AND partition_key IS NULL
         UNION ALL
         SELECT visible_at FROM (SELECT MIN(id), visible_at FROM hqm_queue_messages INDEXED BY hqm_queue_partition
                                 WHERE queue = :queue AND partition_key IS NOT NULL GROUP BY partition_key))`,
    ),
    // Two passes, each cheap: the total from the order index alone, and the split from the
    // rows not visible yet (in flight or delayed — usually few) by a range of the visibility index.
    counts: db.prepare(
      `SELECT (SELECT COUNT(*) FROM hqm_queue_messages INDEXED BY hqm_queue_order WHERE queue = :queue) AS total,
              SUM(lease IS NOT NULL) AS in_flight,
              SUM(lease IS NULL) AS delayed
       FROM hqm_queue_messages INDEXED BY hqm_queue_visible WHERE queue = :queue AND visible_at > :now`,
    ),
    // One step down the (queue, visible_at) index.
    oldestVisible: db.prepare('SELECT MIN(visible_at) AS at FROM hqm_queue_messages INDEXED BY hqm_queue_visible WHERE queue = :queue'),
    deadCount: db.prepare('SELECT COUNT(*) AS n FROM hqm_dead_letters WHERE queue = :queue AND dead_lettered_at >= :cutoff'),
    deadList: db.prepare(
      `SELECT id, message_id, body, attempts, reason, dead_lettered_at FROM hqm_dead_letters INDEXED BY hqm_dead_letters_queue
       WHERE queue = :queue AND dead_lettered_at >= :cutoff ORDER BY id DESC LIMIT :limit`,
    ),
    deadQueues: db.prepare('SELECT DISTINCT queue FROM hqm_dead_letters'),
    probe: db.prepare(
      `SELECT (SELECT MAX(id) FROM hqm_queue_messages) AS message,
              (SELECT id FROM hqm_queue_messages INDEXED BY hqm_queue_order ORDER BY queue DESC, priority, id DESC LIMIT 1) AS ordered,
              (SELECT id FROM hqm_queue_messages INDEXED BY hqm_queue_visible ORDER BY queue, visible_at LIMIT 1) AS visible,
              (SELECT MAX(id) FROM hqm_dead_letters) AS dead`,
    ),
    trimDeadAge: db.prepare('DELETE FROM hqm_dead_letters WHERE queue = :queue AND dead_lettered_at < :cutoff'),
    // The subquery walks the (queue, id) index only; with fewer than `max` rows it is NULL and nothing goes.
    trimDeadCount: db.prepare(
      `DELETE FROM hqm_dead_letters WHERE queue = :queue AND id <= (
         SELECT id FROM hqm_dead_letters INDEXED BY hqm_dead_letters_queue WHERE queue = :queue ORDER BY id DESC LIMIT 1 OFFSET :max)`,
    ),
  };
}

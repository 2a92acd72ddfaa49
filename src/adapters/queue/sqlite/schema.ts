/**
 * Tables of the SQLite queue. One row per message; a delivery is a lease: the row gets a lease
 * token and `visible_at` moves to the end of the visibility timeout. Settling a delivery matches
 * on (id, lease), so a settle from a delivery whose lease lapsed and was re-claimed changes nothing.
 *
 * @module
 */
import type { Database } from 'better-sqlite3';

export function migrateQueue(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS hqm_queue_messages (
      id            INTEGER PRIMARY KEY AUTOINCREMENT,
      queue         TEXT    NOT NULL,
      priority      INTEGER NOT NULL,
      visible_at    INTEGER NOT NULL,
      attempts      INTEGER NOT NULL DEFAULT 0,
      lease         TEXT,
      partition_key TEXT,
      enqueued_at   INTEGER NOT NULL,
      body          TEXT    NOT NULL
    );
    CREATE INDEX IF NOT EXISTS hqm_queue_order   ON hqm_queue_messages (queue, priority DESC, id);
    CREATE INDEX IF NOT EXISTS hqm_queue_visible ON hqm_queue_messages (queue, visible_at);
    CREATE INDEX IF NOT EXISTS hqm_queue_partition ON hqm_queue_messages (queue, partition_key, id) WHERE partition_key IS NOT NULL;
    CREATE TABLE IF NOT EXISTS hqm_dead_letters (
      id               INTEGER PRIMARY KEY AUTOINCREMENT,
      queue            TEXT    NOT NULL,
      message_id       TEXT    NOT NULL,
      body             TEXT    NOT NULL,
      attempts         INTEGER NOT NULL,
      reason           TEXT    NOT NULL,
      dead_lettered_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS hqm_dead_letters_queue ON hqm_dead_letters (queue, id);
    CREATE INDEX IF NOT EXISTS hqm_dead_letters_age ON hqm_dead_letters (queue, dead_lettered_at);
  `);
}

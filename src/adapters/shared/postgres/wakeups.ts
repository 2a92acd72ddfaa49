/**
 * Queue wake-ups (NOTIFY) sent after the commit of the write they announce, in a transaction of
 * their own that commits without waiting for its flush (D186).
 *
 * PostgreSQL serialises every committing transaction that has sent a NOTIFY under one lock per
 * database, and holds it through the commit's flush to disk: under load the commits that notify
 * queue up behind each other's fsync, whatever else they write. A wake-up does not need that:
 * consumers look again at least once a second anyway, so one that is lost (the process dies
 * between the write's commit and this one) costs that second, never a message. So the write
 * commits on its own (durable, without the lock) and the wake-ups of one event-loop turn follow in
 * one statement with `synchronous_commit` off for its transaction: the lock is held for moments,
 * and no flush is waited for. (The store's change feed keeps its NOTIFY inside the transition's
 * own commit: a long-poll in another process has no such safety net.)
 *
 * @module
 */
import type { Logger } from '../../../ports/logger.js';
import type { PgDatabase } from './database.js';

const SEND = `
  SELECT count(pg_notify(n.channel, n.payload)) AS sent
  FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async, unnest($1::text[], $2::text[]) AS n(channel, payload)`;

export class Wakeups {
  #channels: string[] = [];
  #payloads: string[] = [];
  #scheduled = false;

  constructor(
    private readonly db: PgDatabase,
    private readonly logger: Logger,
  ) {}

  /** Queues `payload` on `channel`, sent with the rest of this turn's after their writes committed. */
  send(channel: string, payload: string): void {
    this.#channels.push(channel);
    this.#payloads.push(payload);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#flush);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const channels = this.#channels;
    const payloads = this.#payloads;
    this.#channels = [];
    this.#payloads = [];
    if (channels.length === 0 || this.db.closed) return;
    this.db.query('waking consumers', SEND, [channels, payloads]).catch((error: unknown) => {
      this.logger.debug({ err: error }, 'postgres: a wake-up could not be sent; consumers look again within a second');
    });
  };
}

/**
 * The PostgreSQL side of the pull loop: a claim leases a batch of ready messages in one
 * statement (FOR UPDATE SKIP LOCKED), and each delivery settles by (id, lease), so a settle from
 * a lapsed lease changes nothing.
 *
 * @module
 */
import type { Delivery } from '../../../ports/queue-backend.js';
import type { Logger } from '../../../ports/logger.js';
import type { DeadLetterBounds } from '../../shared/dead-letters.js';
import { FUSION } from '../../shared/fusion.js';
import type { PgDatabase } from '../../shared/postgres/database.js';
import type { PgDeliveryFusion, PgQueueFusion } from '../../shared/postgres/fusion.js';
import { ACK, BURY, CLAIM, EXTEND, NEXT_DUE, RELEASE, RETRY, TRIM_DEAD } from '../../shared/postgres/sql.js';
import type { PullSource } from '../../shared/pull-consumer.js';

export interface MessageRow {
  readonly id: number;
  readonly body: string;
  readonly attempts: number;
  readonly priority: number;
  readonly partition_key: string | null;
  readonly enqueued_at: number;
}

/** What the source needs of its queue adapter. */
export interface SourceContext {
  readonly db: PgDatabase;
  readonly channel: string;
  readonly deadBounds: DeadLetterBounds;
  readonly logger: Logger;
  newLease(): string;
  /** Records the server's clock against ours (server ms minus local ms). */
  observeSkew(serverNow: number): void;
  /** Server epoch ms to this process's clock. */
  toLocal(serverAt: number): number;
  /** The queue's fusion parts, which its deliveries name as their owner. */
  readonly fusion: PgQueueFusion;
}

export class PostgresSource implements PullSource {
  /** When the next message comes due (local ms), as last read after a claim came back short. */
  #nextDue: number | undefined;

  constructor(
    private readonly context: SourceContext,
    private readonly queue: string,
    private readonly visibilityTimeoutMs: number,
  ) {}

  async claim(limit: number): Promise<Delivery[]> {
    const { db } = this.context;
    const lease = this.context.newLease();
    let rows: MessageRow[];
    try {
      rows = await db.query<MessageRow>('claiming messages', CLAIM, [this.queue, lease, Math.ceil(this.visibilityTimeoutMs), limit]);
    } catch (error) {
      // A due time read before the failure may be past: kept, the loop would retry every few ms
      // while PostgreSQL is away. Forgotten, it looks again after its idle interval (or a wake-up).
      this.#nextDue = undefined;
      throw error;
    }
    // RETURNING does not promise an order; restore priority, then FIFO.
    rows.sort((a, b) => b.priority - a.priority || a.id - b.id);
    // Short: the consumer is about to sleep, and wants to know until when.
    if (rows.length < limit) await this.#readNextDue();
    return rows.map((row) => this.#delivery(row, lease));
  }

  nextDueAt(): number | undefined {
    return this.#nextDue;
  }

  async #readNextDue(): Promise<void> {
    const [row] = await this.context.db.query<{ now: number; due: number | null }>('reading the next due time', NEXT_DUE, [this.queue]);
    if (row === undefined) return;
    this.context.observeSkew(row.now);
    this.#nextDue = row.due === null ? undefined : this.context.toLocal(row.due);
  }

  #delivery(row: MessageRow, lease: string): Delivery {
    const { db, channel, deadBounds, logger } = this.context;
    const { queue } = this;
    const id = row.id;
    const settle = async (what: string, sql: string, extra: readonly unknown[] = []): Promise<void> => {
      await db.query(what, sql, [id, lease, ...extra]);
    };
    const delivery: Delivery & { readonly [FUSION]: PgDeliveryFusion } = {
      messageId: String(id),
      body: row.body,
      deliveryCount: row.attempts,
      priority: row.priority,
      partitionKey: row.partition_key,
      enqueuedAt: row.enqueued_at,
      ack: () => settle('acknowledging a message', ACK, [channel]),
      retry: (delayMs) => settle('retrying a message', RETRY, [channel, Math.max(0, Math.ceil(delayMs))]),
      release: (delayMs = 0) => settle('releasing a message', RELEASE, [channel, Math.max(0, Math.ceil(delayMs))]),
      extend: (ms) => db.query('extending a lease', EXTEND, [id, lease, Math.max(0, Math.ceil(ms))]).then(() => undefined),
      deadLetter: async (reason) => {
        const buried = await db.query('dead-lettering a message', BURY, [id, lease, channel, reason]);
        if (buried.length === 0) return;
        await trimDeadLetters(db, queue, deadBounds, logger);
      },
      [FUSION]: { technology: 'postgres', role: 'delivery', queue: this.context.fusion, messageId: id, lease },
    };
    return delivery;
  }
}

/**
 * Trims a queue's dead letters to their bounds after a dead-lettering. Not in the burying
 * statement: the count cap must see the row just added. Reads apply the retention anyway, and
 * the minute's sweep trims what a failure here leaves.
 */
export async function trimDeadLetters(db: PgDatabase, queue: string, bounds: DeadLetterBounds, logger: Logger): Promise<void> {
  await db.query('trimming dead letters', TRIM_DEAD, [queue, bounds.retentionMs, bounds.max]).catch((error: unknown) => {
    logger.warn({ err: error, queue }, 'postgres queue: trimming dead letters failed; the next sweep trims them');
  });
}

/**
 * `queue.type: postgres` — messages in a PostgreSQL table, shared by every process on the
 * database. A claim leases a batch with FOR UPDATE SKIP LOCKED (no two consumers wait on each
 * other's rows), a lease is a token plus a visibility time, settles match on (id, lease); with
 * priorities, delays, per-key order and a dead-letter table. Consumers sleep until a
 * LISTEN/NOTIFY wake-up (or the next due time); after the listening connection comes back they
 * look at once, so nothing published during an outage waits for a timer.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { HqmError } from '../../../core/errors.js';
import type { AdapterContext, QueueBackendFactory } from '../../../ports/adapter.js';
import type { HealthReport } from '../../../ports/health.js';
import type { Logger } from '../../../ports/logger.js';
import type {
  ConsumeOptions,
  DeadLetter,
  DeadLetterPage,
  DeliveryHandler,
  OutboundMessage,
  PublishReceipt,
  QueueBackend,
  QueueCapabilities,
  QueueStats,
  Subscription,
} from '../../../ports/queue-backend.js';
import { deadLetterBounds, type DeadLetterBounds } from '../../shared/dead-letters.js';
import { assertSize, clampPriority } from '../../shared/messages.js';
import { parseOptions } from '../../shared/options.js';
import { STORED_QUEUE_VALUES } from '../../shared/capabilities.js';
import { FUSION } from '../../shared/fusion.js';
import { PgDatabase } from '../../shared/postgres/database.js';
import type { PgQueueFusion } from '../../shared/postgres/fusion.js';
import { PgListener } from '../../shared/postgres/listener.js';
import { migrate } from '../../shared/postgres/migrate.js';
import {
  DEAD_GET,
  DEAD_PAGE,
  DEAD_PURGE,
  DEAD_QUEUES,
  DEAD_REMOVE,
  PUBLISH,
  QUEUE_SCHEMA,
  REPLAY,
  SECRET,
  STATS,
  TRIM_DEAD,
} from '../../shared/postgres/sql.js';
import { PullConsumer } from '../../shared/pull-consumer.js';
import { postgresQueueOptionsSchema, type PostgresQueueOptions } from './config.js';
import { PostgresSource, trimDeadLetters } from './consumer.js';

const DEAD_LETTER_SWEEP_MS = 60_000;
const SECRET_KEY = 'deployment_secret';

export const factory: QueueBackendFactory = {
  type: 'postgres',
  async create(raw, context: AdapterContext) {
    const options = parseOptions(postgresQueueOptionsSchema, raw, 'postgres');
    const logger = context.logger.child({ component: 'queue', backend: 'postgres' });
    const db = new PgDatabase(options, logger);
    try {
      await migrate(db, 'queue', QUEUE_SCHEMA);
      return new PostgresQueue(db, options, logger);
    } catch (error) {
      await db.close();
      throw error;
    }
  },
};

interface DeadLetterRow {
  readonly id: number;
  readonly message_id: string;
  readonly body: string;
  readonly attempts: number;
  readonly reason: string;
  readonly dead_lettered_at: number;
}

export class PostgresQueue implements QueueBackend {
  readonly type = 'postgres';
  readonly capabilities: QueueCapabilities;
  /** Consumers of this instance by queue name, woken by notifications. */
  readonly #consumers = new Map<string, Set<PullConsumer>>();
  readonly #leasePrefix = randomBytes(6).toString('hex');
  readonly #deadBounds: DeadLetterBounds;
  readonly #deadSweeper: NodeJS.Timeout;
  readonly #channel: string;
  #listener: PgListener | undefined;
  #leases = 0;
  /** Server clock minus ours, in ms: notifications and due times come in the server's. */
  #skew = 0;
  #closed = false;
  /** What a fused pairing with the PostgreSQL store on this database and schema needs (D185). */
  readonly [FUSION]: PgQueueFusion;

  constructor(
    private readonly db: PgDatabase,
    options: PostgresQueueOptions,
    private readonly logger: Logger,
  ) {
    this.#deadBounds = deadLetterBounds(options);
    this.#channel = `openhqm.queue.${options.schema}`;
    this.#deadSweeper = setInterval(() => void this.#trimDeadLetters(), DEAD_LETTER_SWEEP_MS);
    this.#deadSweeper.unref();
    this.capabilities = {
      delay: true,
      priority: true,
      fifo: true,
      maxMessageBytes: options.max_message_bytes,
      durable: true,
      shared: true,
      partitionOrdering: true,
      // Times are the server's milliseconds, leases are tokens: the values of the stored backends (D132).
      ...STORED_QUEUE_VALUES,
    };
    this[FUSION] = {
      technology: 'postgres',
      role: 'queue',
      db,
      channel: this.#channel,
      maxMessageBytes: options.max_message_bytes,
      logger,
      assertOpen: () => this.#assertOpen(),
      trimDeadLetters: (queue) => trimDeadLetters(db, queue, this.#deadBounds, logger),
    };
  }

  async publish(queue: string, message: OutboundMessage): Promise<PublishReceipt> {
    this.#assertOpen();
    assertSize(message.body, this.capabilities.maxMessageBytes);
    const [row] = await this.db.query<{ id: number }>('publishing a message', PUBLISH, [...messageValues(queue, message), this.#channel]);
    if (row === undefined) throw new Error('the publish returned no row');
    return { messageId: String(row.id) };
  }

  consume(queue: string, options: ConsumeOptions, handler: DeliveryHandler): Subscription {
    this.#assertOpen();
    const source = new PostgresSource(
      {
        db: this.db,
        channel: this.#channel,
        deadBounds: this.#deadBounds,
        logger: this.logger,
        newLease: () => `${this.#leasePrefix}-${(this.#leases += 1)}`,
        observeSkew: (serverNow) => {
          this.#skew = serverNow - Date.now();
        },
        toLocal: (serverAt) => serverAt - this.#skew,
        fusion: this[FUSION],
      },
      queue,
      options.visibilityTimeoutMs,
    );
    let consumers = this.#consumers.get(queue);
    if (consumers === undefined) this.#consumers.set(queue, (consumers = new Set()));
    const own = consumers;
    const consumer = new PullConsumer(source, options.concurrency, handler, this.logger.child({ queue }), () => {
      own.delete(consumer);
      if (own.size === 0 && this.#consumers.get(queue) === own) this.#consumers.delete(queue);
    }, options.gate);
    own.add(consumer);
    this.#listener ??= new PgListener(this.db.options, this.#channel, { onNotification: this.#onNotification, onListening: this.#wakeAll }, this.logger);
    return consumer;
  }

  /** `<server ms when it becomes ready>:<queue>` from a publish, settle or replay in any process. */
  readonly #onNotification = (payload: string): void => {
    const colon = payload.indexOf(':');
    if (colon < 0) return;
    const consumers = this.#consumers.get(payload.slice(colon + 1));
    if (consumers === undefined) return;
    const at = Number(payload.slice(0, colon)) - this.#skew;
    for (const consumer of consumers) {
      if (at <= Date.now() + 1) consumer.wake();
      else consumer.dueAt(at);
    }
  };

  /** Listening again after an outage: whatever was published meanwhile is claimed now. */
  readonly #wakeAll = (): void => {
    for (const consumers of this.#consumers.values()) for (const consumer of consumers) consumer.wake();
  };

  async stats(queue: string): Promise<QueueStats> {
    const [row] = await this.db.query<{ total: number; in_flight: number; delayed: number; oldest: number | null; now: number; dead: number }>('reading queue stats', STATS, [
      queue,
      this.#deadBounds.retentionMs,
    ]);
    if (row === undefined) throw new Error('the stats query returned no row');
    return {
      depth: row.total - row.in_flight,
      delayed: row.delayed,
      inFlight: row.in_flight,
      deadLettered: row.dead,
      oldestReadyAt: row.oldest !== null && row.oldest <= row.now ? row.oldest : null,
    };
  }

  async deadLetters(queue: string, options: { limit: number }): Promise<readonly DeadLetter[]> {
    return (await this.browseDeadLetters(queue, { limit: options.limit })).letters;
  }

  async browseDeadLetters(queue: string, options: { limit: number; before?: string }): Promise<DeadLetterPage> {
    const before = options.before === undefined ? Number.MAX_SAFE_INTEGER : parseDeadLetterId(options.before);
    if (before === undefined) throw new HqmError('HQM_ERR_VALIDATION', `"${options.before}" is not a dead-letter id of the PostgreSQL queue`);
    // One more than asked tells whether an older page exists.
    const rows = await this.db.query<DeadLetterRow>('browsing dead letters', DEAD_PAGE, [queue, before, this.#deadBounds.retentionMs, options.limit + 1]);
    const letters = rows.slice(0, options.limit).map(deadLetterOf);
    return { letters, next: rows.length > options.limit ? (letters.at(-1)?.id ?? null) : null };
  }

  async getDeadLetter(queue: string, id: string): Promise<DeadLetter | undefined> {
    const key = parseDeadLetterId(id);
    if (key === undefined) return undefined;
    const [row] = await this.db.query<DeadLetterRow>('reading a dead letter', DEAD_GET, [queue, key, this.#deadBounds.retentionMs]);
    return row === undefined ? undefined : deadLetterOf(row);
  }

  async removeDeadLetter(queue: string, id: string): Promise<boolean> {
    this.#assertOpen();
    const key = parseDeadLetterId(id);
    if (key === undefined) return false;
    const rows = await this.db.query('removing a dead letter', `${DEAD_REMOVE} RETURNING id`, [queue, key]);
    return rows.length > 0;
  }

  async purgeDeadLetters(queue: string, before: number): Promise<number> {
    this.#assertOpen();
    return (await this.db.query('purging dead letters', `${DEAD_PURGE} RETURNING id`, [queue, before])).length;
  }

  async replayDeadLetter(queue: string, id: string, message: OutboundMessage): Promise<PublishReceipt | undefined> {
    this.#assertOpen();
    assertSize(message.body, this.capabilities.maxMessageBytes);
    const key = parseDeadLetterId(id);
    if (key === undefined) return undefined;
    const [, priority, delay, partitionKey, body] = messageValues(queue, message);
    const [row] = await this.db.query<{ id: number }>('replaying a dead letter', REPLAY, [queue, key, priority, delay, partitionKey, body, this.#channel]);
    return row === undefined ? undefined : { messageId: String(row.id) };
  }

  async health(): Promise<HealthReport> {
    return this.#closed ? { ok: false, detail: 'closed' } : this.db.health();
  }

  async deploymentSecret(): Promise<string> {
    this.#assertOpen();
    const [row] = await this.db.query<{ value: string }>('reading the deployment secret', SECRET, [SECRET_KEY, randomBytes(32).toString('hex')]);
    if (row === undefined) throw new Error('the deployment secret row vanished as it was written');
    return row.value;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#deadSweeper);
    const consumers = [...this.#consumers.values()].flatMap((set) => [...set]);
    await Promise.all(consumers.map((c) => c.stop()));
    this.#consumers.clear();
    await this.#listener?.stop();
    await this.db.close();
  }

  async #trimDeadLetters(): Promise<void> {
    try {
      const queues = await this.db.query<{ queue: string }>('listing dead-letter queues', DEAD_QUEUES);
      for (const { queue } of queues) await this.db.query('trimming dead letters', TRIM_DEAD, [queue, this.#deadBounds.retentionMs, this.#deadBounds.max]);
    } catch (error) {
      this.logger.warn({ err: error }, 'postgres queue: trimming dead letters failed; the next sweep tries again');
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the PostgreSQL queue is closed', { retryable: false });
  }
}

/** queue, priority, delay ms, partition key, body: the values of a message row. */
function messageValues(queue: string, message: OutboundMessage): [string, number, number, string | null, string] {
  return [queue, clampPriority(message.priority), Math.max(0, Math.ceil(message.delayMs ?? 0)), message.partitionKey ?? null, message.body];
}

/** Dead-letter ids are the table's positive bigserial keys; anything else names none. */
function parseDeadLetterId(id: string): number | undefined {
  return /^[1-9][0-9]{0,15}$/.test(id) ? Number(id) : undefined;
}

function deadLetterOf(row: DeadLetterRow): DeadLetter {
  return { id: String(row.id), messageId: row.message_id, body: row.body, attempts: row.attempts, reason: row.reason, deadLetteredAt: row.dead_lettered_at };
}

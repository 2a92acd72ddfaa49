/**
 * `queue.type: sqlite` — the embedded default. Durable across restarts (WAL), shared by every
 * process that opens the same file, with priorities, delays, leases with a visibility timeout
 * and a dead-letter table. Throughput comes from group commit: all queue writes of one
 * event-loop turn share one transaction.
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
import { STORED_QUEUE_VALUES } from '../../shared/capabilities.js';
import { deadLetterBounds, type DeadLetterBounds } from '../../shared/dead-letters.js';
import { assertSize, clampPriority } from '../../shared/messages.js';
import { FUSION } from '../../shared/fusion.js';
import { parseOptions } from '../../shared/options.js';
import { PullConsumer } from '../../shared/pull-consumer.js';
import { acquireSqlite, type SqliteHandle } from '../../shared/sqlite/database.js';
import type { SqliteQueueFusion } from '../../shared/sqlite/fusion.js';
import { probeSqlite } from '../../shared/sqlite/probe.js';
import { sqliteQueueOptionsSchema, type SqliteQueueOptions } from './config.js';
import { SqliteSource } from './consumer.js';
import { DEAD_LETTER_SWEEP_MS, deadLetterOf, deadLetterStatements, parseDeadLetterId, trimAllDeadLetters, type DeadLetterStatements } from './dead-letters.js';
import { deploymentSecret } from './secret.js';
import { migrateQueue } from './schema.js';
import { queueStatements, type QueueStatements } from './statements.js';

export const factory: QueueBackendFactory = {
  type: 'sqlite',
  async create(raw, context: AdapterContext) {
    const options = parseOptions(sqliteQueueOptionsSchema, raw, 'sqlite');
    const handle = await acquireSqlite({ path: options.path, synchronous: options.synchronous, busyTimeoutMs: options.busy_timeout_ms });
    try {
      migrateQueue(handle.db);
      return new SqliteQueue(handle, queueStatements(handle.db), options, context.logger.child({ component: 'queue', backend: 'sqlite' }));
    } catch (error) {
      handle.release();
      throw error;
    }
  },
};

class SqliteQueue implements QueueBackend {
  readonly type = 'sqlite';
  readonly capabilities: QueueCapabilities;
  readonly #consumers = new Set<PullConsumer>();
  readonly #leasePrefix = randomBytes(6).toString('hex');
  readonly #deadBounds: DeadLetterBounds;
  readonly #deadSweeper: NodeJS.Timeout;
  readonly #dead: DeadLetterStatements;
  #leases = 0;
  #closed = false;
  /** What a fused pairing with the SQLite store on this file needs (D182). */
  readonly [FUSION]: SqliteQueueFusion;

  constructor(
    private readonly handle: SqliteHandle,
    private readonly stmts: QueueStatements,
    private readonly options: SqliteQueueOptions,
    private readonly logger: Logger,
  ) {
    this.#deadBounds = deadLetterBounds(options);
    this.#dead = deadLetterStatements(handle.db);
    this.#deadSweeper = setInterval(() => void this.#trimDeadLetters(), DEAD_LETTER_SWEEP_MS);
    this.#deadSweeper.unref();
    this.capabilities = {
      ...STORED_QUEUE_VALUES,
      delay: true,
      priority: true,
      fifo: true,
      maxMessageBytes: options.max_message_bytes,
      durable: handle.path !== ':memory:',
      shared: handle.path !== ':memory:',
      partitionOrdering: true,
    };
    this[FUSION] = {
      technology: 'sqlite',
      role: 'queue',
      handle,
      maxMessageBytes: options.max_message_bytes,
      assertOpen: () => this.#assertOpen(),
      insert: (queue, message) => {
        const row = messageRow(queue, message);
        return { messageId: String(this.stmts.insert.run(row).lastInsertRowid), visibleAt: row.visible_at };
      },
      announce: (queue, visibleAt) => this.#announce(queue, visibleAt),
    };
  }

  async publish(queue: string, message: OutboundMessage): Promise<PublishReceipt> {
    this.#assertOpen();
    assertSize(message.body, this.capabilities.maxMessageBytes);
    const row = messageRow(queue, message);
    const id = await this.handle.commit.run(() => this.stmts.insert.run(row).lastInsertRowid);
    if (row.visible_at > row.enqueued_at) this.handle.local.emit('scheduled', queue, row.visible_at);
    else this.handle.local.emit('published', queue);
    return { messageId: String(id) };
  }

  consume(queue: string, options: ConsumeOptions, handler: DeliveryHandler): Subscription {
    this.#assertOpen();
    const newLease = (): string => `${this.#leasePrefix}-${(this.#leases += 1)}`;
    const source = new SqliteSource(this.handle, this.stmts, queue, options.visibilityTimeoutMs, newLease, this.#deadBounds, this[FUSION]);
    const { local } = this.handle;
    const onPublished = (q: string): void => {
      if (q === queue) consumer.wake();
    };
    const onScheduled = (q: string, at: number): void => {
      if (q === queue) consumer.dueAt(at);
    };
    let unwatch = (): void => undefined;
    const consumer = new PullConsumer(source, options.concurrency, handler, this.logger.child({ queue }), () => {
      local.off('published', onPublished);
      local.off('scheduled', onScheduled);
      unwatch();
      this.#consumers.delete(consumer);
    }, options.gate);
    local.on('published', onPublished);
    local.on('scheduled', onScheduled);
    unwatch = this.handle.watchExternalCommits(consumer.wake, this.options.poll_interval_ms);
    this.#consumers.add(consumer);
    return consumer;
  }

  async stats(queue: string): Promise<QueueStats> {
    const now = Date.now();
    const counts = this.handle.read(() => this.stmts.counts.get({ queue, now }));
    const dead = this.handle.read(() => this.stmts.deadCount.get({ queue, cutoff: now - this.#deadBounds.retentionMs }));
    const inFlight = counts?.in_flight ?? 0;
    const oldest = this.handle.read(() => this.stmts.oldestVisible.get({ queue }))?.at ?? null;
    return {
      depth: (counts?.total ?? 0) - inFlight,
      delayed: counts?.delayed ?? 0,
      inFlight,
      deadLettered: dead?.n ?? 0,
      oldestReadyAt: oldest !== null && oldest <= now ? oldest : null,
    };
  }

  async deadLetters(queue: string, options: { limit: number }): Promise<readonly DeadLetter[]> {
    const cutoff = Date.now() - this.#deadBounds.retentionMs;
    return this.handle.read(() => this.stmts.deadList.all({ queue, cutoff, limit: options.limit })).map((row) => ({
      id: String(row.id),
      messageId: row.message_id,
      body: row.body,
      attempts: row.attempts,
      reason: row.reason,
      deadLetteredAt: row.dead_lettered_at,
    }));
  }

  async browseDeadLetters(queue: string, options: { limit: number; before?: string }): Promise<DeadLetterPage> {
    const before = options.before === undefined ? Number.MAX_SAFE_INTEGER : parseDeadLetterId(options.before);
    if (before === undefined) throw new HqmError('HQM_ERR_VALIDATION', `"${options.before}" is not a dead-letter id of the SQLite queue`);
    const cutoff = Date.now() - this.#deadBounds.retentionMs;
    // One more than asked tells whether an older page exists.
    const rows = this.handle.read(() => this.#dead.page.all({ queue, before, cutoff, limit: options.limit + 1 }));
    const letters = rows.slice(0, options.limit).map(deadLetterOf);
    return { letters, next: rows.length > options.limit ? (letters.at(-1)?.id ?? null) : null };
  }

  async getDeadLetter(queue: string, id: string): Promise<DeadLetter | undefined> {
    const key = parseDeadLetterId(id);
    if (key === undefined) return undefined;
    const row = this.handle.read(() => this.#dead.get.get({ queue, id: key, cutoff: Date.now() - this.#deadBounds.retentionMs }));
    return row === undefined ? undefined : deadLetterOf(row);
  }

  async removeDeadLetter(queue: string, id: string): Promise<boolean> {
    this.#assertOpen();
    const key = parseDeadLetterId(id);
    if (key === undefined) return false;
    return (await this.handle.commit.run(() => this.#dead.remove.run({ queue, id: key }).changes)) > 0;
  }

  async purgeDeadLetters(queue: string, before: number): Promise<number> {
    this.#assertOpen();
    return this.handle.commit.run(() => this.#dead.purge.run({ queue, before }).changes);
  }

  async replayDeadLetter(queue: string, id: string, message: OutboundMessage): Promise<PublishReceipt | undefined> {
    this.#assertOpen();
    assertSize(message.body, this.capabilities.maxMessageBytes);
    const key = parseDeadLetterId(id);
    if (key === undefined) return undefined;
    const row = messageRow(queue, message);
    // One savepoint: the dead letter goes exactly when its replacement message is stored.
    const published = await this.handle.commit.run(
      () => (this.#dead.remove.run({ queue, id: key }).changes === 0 ? undefined : this.stmts.insert.run(row).lastInsertRowid),
      { atomic: true },
    );
    if (published === undefined) return undefined;
    this.#announce(queue, row.visible_at);
    return { messageId: String(published) };
  }

  async health(): Promise<HealthReport> {
    if (this.#closed) return { ok: false, detail: 'closed' };
    return probeSqlite(this.handle, () => this.stmts.probe.get());
  }

  async deploymentSecret(): Promise<string> {
    this.#assertOpen();
    return deploymentSecret(this.handle.db);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#deadSweeper);
    await Promise.all([...this.#consumers].map((c) => c.stop()));
    this.#consumers.clear();
    this.handle.release();
  }

  async #trimDeadLetters(): Promise<void> {
    try {
      await this.handle.commit.run(() => trimAllDeadLetters(this.stmts, Date.now(), this.#deadBounds), { atomic: true });
    } catch (error) {
      this.logger.warn({ err: error }, 'sqlite queue: trimming dead letters failed; the next sweep tries again');
    }
  }

  /** Wakes this process's consumers of `queue` for a message visible at `visibleAt`. */
  #announce(queue: string, visibleAt: number): void {
    if (visibleAt > Date.now()) this.handle.local.emit('scheduled', queue, visibleAt);
    else this.handle.local.emit('published', queue);
  }

  #assertOpen(): void {
    if (this.#closed) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the SQLite queue is closed', { retryable: false });
  }
}

/** The row a published (or replayed) message becomes. */
function messageRow(queue: string, message: OutboundMessage) {
  const now = Date.now();
  const delay = Math.max(0, message.delayMs ?? 0);
  return {
    queue,
    priority: clampPriority(message.priority),
    visible_at: now + delay,
    partition_key: message.partitionKey ?? null,
    enqueued_at: now,
    body: message.body,
  };
}

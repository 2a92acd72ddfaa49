/**
 * `queue.type: redis` — Redis Streams with one consumer group, shared by any number of API and
 * worker processes (and Redis Cluster). The data layout is in keys.ts, the atomic steps in
 * scripts.ts, and the reasons in docs/adapters.md and docs/architecture.md (D18–D21, D26).
 *
 * Capabilities, and why:
 * - `delay`: delayed publishes and retries wait in a sorted set, moved to their stream by a Lua
 *   script when due.
 * - `priority`: one stream per priority band 0–9, read highest first.
 * - `fifo`: within a band a single consumer receives entries in publish order (a retried or
 *   released message re-enters at the tail of its band).
 * - `maxMessageBytes`: `queue.max_message_bytes`, default 16 MiB (Redis holds waiting messages
 *   in memory).
 * - `durable`: only when every master has the append-only file on (INFO persistence), since
 *   without it a Redis restart loses what was queued; a warning says so at start-up.
 * - `shared`: any process that reaches the server shares the queue.
 * - `partitionOrdering`: only the head of each partition key is in a stream (or the delayed
 *   set); the rest wait in the key's list and the script that acknowledges or dead-letters the
 *   head promotes the next (D26).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
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
import { deadLetterBounds, deadLetterCutoff, type DeadLetterBounds } from '../../shared/dead-letters.js';
import { FUSION } from '../../shared/fusion.js';
import { parseOptions } from '../../shared/options.js';
import { PullConsumer } from '../../shared/pull-consumer.js';
import { acquireRedis, type RedisHandle } from '../../shared/redis/client.js';
import { guarded } from '../../shared/redis/errors.js';
import type { RedisQueueFusion } from '../../shared/redis/fusion.js';
import { redisQueueOptionsSchema, type RedisQueueOptions } from './config.js';
import { consumerName, fieldMap, RedisSource } from './consumer.js';
import { RedisDeadLetters } from './dead-letters.js';
import { queueKeys, type QueueKeys } from './keys.js';
import { RedisProducer } from './producer.js';
import { QUEUE_LUA, queueScripts, type QueueScripts } from './scripts.js';

/** The consumer group every OpenHQM worker joins. */
const GROUP = 'openhqm';

export const factory: QueueBackendFactory = {
  type: 'redis',
  async create(raw, context: AdapterContext) {
    const options = parseOptions(redisQueueOptionsSchema, raw, 'redis');
    const logger = context.logger.child({ component: 'queue', backend: 'redis' });
    if (options.dead_letter_max_len !== undefined && options.dead_letter_max_len !== null) {
      logger.warn({ dead_letter_max_len: options.dead_letter_max_len }, 'redis.dead_letter_max_len is deprecated: set queue.dead_letter_max instead (until then it takes the place of queue.dead_letter_max)');
    }
    const handle = await acquireRedis(options, logger);
    return new RedisQueue(handle, options, handle.server.durable, logger);
  },
};

class RedisQueue implements QueueBackend {
  readonly type = 'redis';
  readonly capabilities: QueueCapabilities;
  readonly #scripts: QueueScripts;
  readonly #producer: RedisProducer;
  readonly #keys = new Map<string, QueueKeys>();
  readonly #subscriptions = new Map<string, Set<PullConsumer>>();
  /** Subscriptions still finishing their stop (closing their blocking connection). */
  readonly #stopping = new Set<Promise<void>>();
  readonly #deadBounds: DeadLetterBounds;
  readonly #dead: RedisDeadLetters;
  #closed = false;
  /** What a fused pairing with the Redis store on this connection needs (D187). */
  readonly [FUSION]: RedisQueueFusion;

  constructor(
    private readonly handle: RedisHandle,
    private readonly options: RedisQueueOptions,
    durable: boolean,
    private readonly logger: Logger,
  ) {
    this.capabilities = { ...STORED_QUEUE_VALUES, delay: true, priority: true, fifo: true, maxMessageBytes: options.max_message_bytes, durable, shared: true, partitionOrdering: true };
    this.#scripts = queueScripts(handle.client);
    this.#producer = new RedisProducer(handle.client, this.#scripts, options.max_message_bytes);
    const bounds = deadLetterBounds(options);
    this.#deadBounds = { ...bounds, max: options.dead_letter_max_len ?? bounds.max };
    this.#dead = new RedisDeadLetters(handle.client, this.#deadBounds, options.max_message_bytes);
    this[FUSION] = {
      technology: 'redis',
      role: 'queue',
      handle,
      lua: QUEUE_LUA,
      assertOpen: () => this.#assertOpen(),
      publish: (queue, message) => {
        const plan = this.#producer.plan(this.#keysOf(queue), message);
        return {
          ...plan,
          published: (reply) => {
            const published = plan.published(reply);
            if (published.visibleAt !== undefined) this.#notify(queue, published.visibleAt);
            return published;
          },
        };
      },
    };
  }

  async publish(queue: string, message: OutboundMessage): Promise<PublishReceipt> {
    this.#assertOpen();
    const published = await this.#producer.publish(this.#keysOf(queue), message);
    if (published.visibleAt !== undefined) this.#notify(queue, published.visibleAt);
    return { messageId: published.messageId };
  }

  consume(queue: string, options: ConsumeOptions, handler: DeliveryHandler): Subscription {
    this.#assertOpen();
    const logger = this.logger.child({ queue });
    const source = new RedisSource({
      handle: this.handle,
      scripts: this.#scripts,
      keys: this.#keysOf(queue),
      group: GROUP,
      consumer: consumerName(hostname()),
      visibilityTimeoutMs: options.visibilityTimeoutMs,
      deadLetters: this.#deadBounds,
      logger,
      notify: (at) => this.#notify(queue, at),
      fusion: this[FUSION],
    });
    const local = this.#subscriptions.get(queue) ?? new Set<PullConsumer>();
    this.#subscriptions.set(queue, local);
    const consumer: PullConsumer = new PullConsumer(source, options.concurrency, handler, logger, () => {
      local.delete(consumer);
      const stopped = source.stop().catch((error: unknown) => logger.warn({ err: error }, 'redis queue: stopping a subscription failed'));
      this.#stopping.add(stopped);
      void stopped.then(() => this.#stopping.delete(stopped));
    }, options.gate);
    source.attach(consumer);
    local.add(consumer);
    return consumer;
  }

  async stats(queue: string): Promise<QueueStats> {
    const now = Date.now();
    const args = [GROUP, now, deadLetterCutoff(now, this.#deadBounds)];
    const reply = (await guarded('reading queue stats', this.#scripts.stats(this.#keysOf(queue).stats, args))) as number[];
    const [depth = 0, delayed = 0, inFlight = 0, deadLettered = 0, oldest = -1] = reply;
    return { depth: Math.max(0, depth), delayed, inFlight: Math.max(0, inFlight), deadLettered, oldestReadyAt: oldest >= 0 ? oldest : null };
  }

  async deadLetters(queue: string, options: { limit: number }): Promise<readonly DeadLetter[]> {
    const entries = await guarded('reading dead letters', this.handle.client.xrevrange(this.#keysOf(queue).dead, '+', '-', 'COUNT', options.limit));
    const cutoff = deadLetterCutoff(Date.now(), this.#deadBounds);
    // Newest first: past the first one beyond its retention, all are (the next trim drops them).
    const letters = entries.map(([id, flat]) => {
      const f = fieldMap(flat);
      return { id, messageId: f.m ?? id, body: f.b ?? '', attempts: Number(f.a ?? 0), reason: f.r ?? '', deadLetteredAt: Number(f.d ?? 0) };
    });
    const kept = letters.findIndex((letter) => letter.deadLetteredAt < cutoff);
    return kept === -1 ? letters : letters.slice(0, kept);
  }

  async browseDeadLetters(queue: string, options: { limit: number; before?: string }): Promise<DeadLetterPage> {
    return this.#dead.browse(this.#keysOf(queue), options);
  }

  async getDeadLetter(queue: string, id: string): Promise<DeadLetter | undefined> {
    return this.#dead.get(this.#keysOf(queue), id);
  }

  async removeDeadLetter(queue: string, id: string): Promise<boolean> {
    this.#assertOpen();
    return this.#dead.remove(this.#keysOf(queue), id);
  }

  async purgeDeadLetters(queue: string, before: number): Promise<number> {
    this.#assertOpen();
    return this.#dead.purge(this.#keysOf(queue), before);
  }

  async replayDeadLetter(queue: string, id: string, message: OutboundMessage): Promise<PublishReceipt | undefined> {
    this.#assertOpen();
    const replayed = await this.#dead.replay(this.#keysOf(queue), id, message);
    if (replayed === undefined) return undefined;
    if (replayed.visibleAt !== undefined) this.#notify(queue, replayed.visibleAt);
    return { messageId: replayed.messageId };
  }

  /**
   * `<prefix>:id-secret`, set only if absent (SET NX), then read: whichever process asked first
   * wrote it, and every process of the deployment reads the same value.
   */
  async deploymentSecret(): Promise<string> {
    this.#assertOpen();
    const key = `${this.options.key_prefix}:id-secret`;
    const client = this.handle.client;
    await guarded('writing the deployment secret', client.set(key, randomBytes(32).toString('hex'), 'NX'));
    const secret = await guarded('reading the deployment secret', client.get(key));
    if (secret === null) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', `the deployment secret ${key} vanished as it was written (evicted?)`);
    return secret;
  }

  async health(): Promise<HealthReport> {
    return this.#closed ? { ok: false, detail: 'closed' } : this.handle.health();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const all = [...this.#subscriptions.values()].flatMap((set) => [...set]);
    await Promise.all(all.map((c) => c.stop()));
    await Promise.all([...this.#stopping]);
    await this.handle.release();
  }

  #keysOf(queue: string): QueueKeys {
    let keys = this.#keys.get(queue);
    if (keys === undefined) {
      keys = queueKeys(this.options.key_prefix, queue);
      this.#keys.set(queue, keys);
    }
    return keys;
  }

  /** Local subscriptions hear about a new message at once; other processes through their XREAD. */
  #notify(queue: string, visibleAt: number): void {
    for (const consumer of this.#subscriptions.get(queue) ?? []) {
      if (visibleAt <= Date.now()) consumer.wake();
      else consumer.dueAt(visibleAt);
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the Redis queue is closed', { retryable: false });
  }
}

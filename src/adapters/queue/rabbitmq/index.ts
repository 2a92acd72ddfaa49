/**
 * `queue.type: rabbitmq` — AMQP 0-9-1 on RabbitMQ 3.10 or later (D220–D229). Each OpenHQM queue is
 * a set of quorum queues (one per priority band), a ladder of delay-tier quorum queues that
 * dead-letter back to their band, and a stream of dead letters (names.ts). Publishes are confirmed
 * before they resolve; deliveries are acknowledged manually, with a prefetch equal to what the
 * worker may hold; a settle is never sent on a channel other than the delivery's own.
 *
 * What the broker does not do is said in the capabilities: no per-message lease (a message is held
 * until its channel closes: redelivery by session), priorities between bands only, no per-key
 * order, and stats that count what the broker reports (ready and delayed messages) plus this
 * process's own in-flight deliveries.
 *
 * @module
 */
import { randomBytes, randomUUID } from 'node:crypto';
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
import { RabbitClient, UnroutableError } from './client.js';
import { rabbitQueueOptionsSchema, type RabbitQueueOptions } from './config.js';
import { RabbitSubscription, type SubscriptionHost } from './consumer.js';
import { DeadLetterLog, parseOffset } from './dead-letters.js';
import { translateRabbitError, unavailable } from './errors.js';
import { bandIndex, DELAY_STEP_MS, secretStream, tierFor, tierQueue } from './names.js';
import { bodyOf, headersOf, type WireMessage } from './wire.js';

/** Node's longest timer: the adapter chains tiers for any delay, the worker's timers cap it here. */
const LONGEST_DELAY_MS = 2_147_483_647;

export const factory: QueueBackendFactory = {
  type: 'rabbitmq',
  async create(raw, context: AdapterContext) {
    const options = parseOptions(rabbitQueueOptionsSchema, raw, 'rabbitmq');
    const logger = context.logger.child({ component: 'queue', backend: 'rabbitmq' });
    const client = new RabbitClient(options, logger);
    try {
      await client.connected();
    } catch (error) {
      await client.close();
      throw error;
    }
    return new RabbitQueue(client, options, logger);
  },
};

export class RabbitQueue implements QueueBackend {
  readonly type = 'rabbitmq';
  readonly capabilities: QueueCapabilities;
  readonly #subscriptions = new Set<RabbitSubscription>();
  readonly #inFlight = new Map<string, number>();
  readonly #deadLetters = new Map<string, Promise<DeadLetterLog>>();
  readonly #deadBounds: DeadLetterBounds;
  readonly #host: SubscriptionHost;
  #secret: Promise<string> | undefined;
  #closed = false;

  constructor(
    private readonly client: RabbitClient,
    options: RabbitQueueOptions,
    private readonly logger: Logger,
  ) {
    this.#deadBounds = deadLetterBounds(options);
    // Bands, each a queue of its own: higher bands are handed out first from what a consumer holds.
    const banded = options.priority_bands.length > 0;
    this.capabilities = {
      delay: true,
      priority: banded,
      fifo: true,
      maxMessageBytes: options.max_message_bytes,
      durable: true,
      shared: true,
      partitionOrdering: false,
      delays: { maxMs: LONGEST_DELAY_MS, granularityMs: DELAY_STEP_MS },
      lease: null,
      redelivery: 'session',
      deliveryCounting: 'deliveries',
      staleSettles: 'harmless',
      priorities: banded ? 'approximate' : 'none',
      ordering: 'none',
      stats: 'approximate',
      deadLetterBrowsing: true,
    };
    this.#host = {
      logger,
      consumerTimeoutMs: options.consumer_timeout_ms,
      openChannel: () => this.client.channel('consuming'),
      declare: (queue) => this.client.declare(queue),
      forget: (queue) => this.client.forget(queue),
      forward: (queue, message, delayMs) => this.#forward(queue, message, delayMs),
      bury: async (queue, message, reason, attempts) => (await this.#log(queue)).add(message, reason, attempts),
      inFlight: (queue, change) => this.#inFlight.set(queue, (this.#inFlight.get(queue) ?? 0) + change),
    };
  }

  async publish(queue: string, message: OutboundMessage): Promise<PublishReceipt> {
    this.#assertOpen();
    assertSize(message.body, this.capabilities.maxMessageBytes);
    const wire: WireMessage = {
      body: Buffer.from(message.body, 'utf8'),
      id: randomUUID(),
      enqueuedAt: Date.now(),
      count: 1,
      priority: clampPriority(message.priority),
      partitionKey: message.partitionKey ?? null,
      due: 0,
    };
    await this.#forward(queue, wire, message.delayMs ?? 0);
    return { messageId: wire.id };
  }

  /**
   * Publishes `message` to its band queue, or with a delay to the tier for the rest of it (it
   * comes back through the next tiers until due: consumer.ts). Confirmed before it resolves; a
   * publish the broker returned (a queue deleted under us) declares the topology again and tries once more.
   */
  async #forward(queue: string, message: WireMessage, delayMs: number): Promise<void> {
    for (let tries = 1; ; tries += 1) {
      const topology = await this.client.declare(queue);
      if (delayMs > 0) await this.client.declareLadder(queue);
      const band = topology.bands[bandIndex(topology, message.priority)]?.queue ?? queue;
      const due = delayMs > 0 ? Date.now() + Math.ceil(delayMs) : 0;
      const target = due > 0 ? tierQueue(topology, tierFor(delayMs)) : band;
      try {
        await this.client.publish(target, message.body, { messageId: message.id, headers: headersOf({ ...message, due }, band) });
        return;
      } catch (error) {
        if (!(error instanceof UnroutableError) || tries >= 2) throw error instanceof UnroutableError ? unavailable(`publishing a message: ${error.message}`) : error;
        this.client.forget(queue);
      }
    }
  }

  consume(queue: string, options: ConsumeOptions, handler: DeliveryHandler): Subscription {
    this.#assertOpen();
    // Kept after stop() too: its channel stays open for the settles of what it handed out, until close().
    const subscription = new RabbitSubscription(this.#host, queue, this.client.topology(queue), options, handler);
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async stats(queue: string): Promise<QueueStats> {
    this.#assertOpen();
    const topology = await this.client.declare(queue);
    const ready = (await this.client.count(topology.bands.map((b) => b.queue))).reduce((sum, n) => sum + n, 0);
    const delayed = await this.client.delayed(queue);
    // Counted from this process's view of the stream, which follows it from the first read on
    // (no sync: a metrics scrape should not write to the broker).
    const log = await this.#log(queue);
    await log.follow();
    return { depth: ready + delayed, delayed, inFlight: this.#inFlight.get(queue) ?? 0, deadLettered: log.live().length };
  }

  async deadLetters(queue: string, options: { limit: number }): Promise<readonly DeadLetter[]> {
    return (await this.browseDeadLetters(queue, { limit: options.limit })).letters;
  }

  async browseDeadLetters(queue: string, options: { limit: number; before?: string }): Promise<DeadLetterPage> {
    this.#assertOpen();
    const before = options.before === undefined ? Number.MAX_SAFE_INTEGER : parseOffset(options.before);
    if (before === undefined) throw new HqmError('HQM_ERR_VALIDATION', `"${options.before}" is not a dead-letter id of the RabbitMQ queue`);
    const log = await this.#log(queue);
    await log.sync();
    const older = log.live().filter((letter) => letter.offset < before);
    const page = older.slice(0, options.limit);
    const letters = await log.withBodies(page);
    return { letters, next: older.length > options.limit ? String(page.at(-1)?.offset) : null };
  }

  async getDeadLetter(queue: string, id: string): Promise<DeadLetter | undefined> {
    this.#assertOpen();
    const offset = parseOffset(id);
    if (offset === undefined) return undefined;
    const log = await this.#log(queue);
    await log.sync();
    const letter = log.live().find((l) => l.offset === offset);
    return letter === undefined ? undefined : (await log.withBodies([letter]))[0];
  }

  async removeDeadLetter(queue: string, id: string): Promise<boolean> {
    this.#assertOpen();
    const offset = parseOffset(id);
    return offset === undefined ? false : (await this.#log(queue)).remove(offset);
  }

  async purgeDeadLetters(queue: string, before: number): Promise<number> {
    this.#assertOpen();
    return (await this.#log(queue)).purge(before);
  }

  /**
   * The stream's order decides between concurrent replays: each appends a replay entry, and only
   * the author of the first one for the letter publishes. A crash between the two loses the
   * replay (the letter is gone, nothing published) rather than run the request twice.
   */
  async replayDeadLetter(queue: string, id: string, message: OutboundMessage): Promise<PublishReceipt | undefined> {
    this.#assertOpen();
    assertSize(message.body, this.capabilities.maxMessageBytes);
    const offset = parseOffset(id);
    if (offset === undefined) return undefined;
    if (!(await (await this.#log(queue)).remove(offset, 'replay'))) return undefined;
    return this.publish(queue, message);
  }

  async health(): Promise<HealthReport> {
    if (this.#closed) return { ok: false, detail: 'closed' };
    if (!this.client.ready) return { ok: false, detail: `not connected to RabbitMQ${this.client.lastError === undefined ? '' : `: ${this.client.lastError}`}` };
    // Connected but not consuming (a consumer the broker cancelled, a channel that cannot be
    // reopened): a worker that looks alive and takes nothing is not ready.
    for (const subscription of this.#subscriptions) {
      if (!subscription.stopped && !subscription.consuming) return { ok: false, detail: `not consuming ${subscription.queue}${subscription.lastError === undefined ? '' : `: ${subscription.lastError}`}` };
    }
    return { ok: true };
  }

  /**
   * The first message of the stream `openhqm:secret`: every process appends a candidate and reads
   * the first, so all agree on whichever was appended first.
   */
  deploymentSecret(): Promise<string> {
    this.#assertOpen();
    this.#secret ??= this.#readSecret();
    this.#secret.catch(() => (this.#secret = undefined));
    return this.#secret;
  }

  async #readSecret(): Promise<string> {
    const stream = secretStream(this.client.options.prefix);
    const channel = await this.client.channel('reading the deployment secret');
    try {
      await channel.queueDeclare({ queue: stream, durable: true, arguments: { 'x-queue-type': 'stream' } });
      await this.client.publish(stream, Buffer.from(randomBytes(32).toString('hex')), { headers: {} }, 'writing the deployment secret');
      await channel.basicQos({ prefetchCount: 1 });
      return await new Promise<string>((resolve, reject) => {
        channel.once('close', () => reject(unavailable('reading the deployment secret: the channel closed')));
        channel.basicConsume({ queue: stream, arguments: { 'x-stream-offset': 'first' } }, (raw) => resolve(bodyOf(raw).toString('utf8'))).catch(reject);
      });
    } catch (error) {
      throw translateRabbitError(error, 'reading the deployment secret');
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
    this.#subscriptions.clear();
    const logs = await Promise.all([...this.#deadLetters.values()].map((log) => log.catch(() => undefined)));
    await Promise.all(logs.flatMap((log) => (log === undefined ? [] : [log.close()])));
    await this.client.close();
  }

  /** The dead-letter log of `queue`, created (and its topology declared) on first use. */
  #log(queue: string): Promise<DeadLetterLog> {
    let log = this.#deadLetters.get(queue);
    if (log === undefined) {
      log = this.client.declare(queue).then((topology) => new DeadLetterLog(this.client, topology.dead, this.#deadBounds, this.logger));
      this.#deadLetters.set(queue, log);
      log.catch(() => this.#deadLetters.delete(queue));
    }
    return log;
  }

  #assertOpen(): void {
    if (this.#closed) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the RabbitMQ queue is closed', { retryable: false });
  }
}

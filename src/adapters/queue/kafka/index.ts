/**
 * `queue.type: kafka` — a queue is a Kafka topic read by a consumer group (`<group>.<queue>`),
 * through kafkajs (chosen because it is pure JavaScript, runs on Node 20 and speaks to
 * librdkafka's mock cluster, which the tests use; see docs/architecture.md D260).
 *
 * Kafka is a log, not a work queue, so the adapter states what it does instead (D261–D266):
 * messages come back by **session** (a member leaving or dying hands its partitions over, and
 * the next owner reads from the committed offset), not by a per-message lease; the committed
 * offset is the lowest unfinished one per partition; delays and retries travel through delay
 * tiers (topics.ts, delays.ts); dead letters are a topic; the depth is the consumer lag. The
 * result store's claim (D130) supplies exclusivity and attempt counting on top.
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
import { assertSize } from '../../shared/messages.js';
import { parseOptions } from '../../shared/options.js';
import { KafkaClient } from './client.js';
import { kafkaQueueOptionsSchema, settingsOf, topicOf, type KafkaSettings } from './config.js';
import { TopicConsumer, type OwnedPartition } from './consumer.js';
import { DeadLetterReader } from './dead-letters.js';
import { DelayMover } from './delays.js';
import { guarded, unavailable } from './errors.js';
import { Publisher } from './producer.js';
import { deadLetterTopic, DELAY_STEP_MS, queueTopics, secretTopic, tierTopics } from './topics.js';

/** Kafka keeps records for 7 days by default; a delay longer than that is chained by the worker (D132). */
const LONGEST_DELAY_MS = 7 * 24 * 3600 * 1000;

export const factory: QueueBackendFactory = {
  type: 'kafka',
  async create(raw, context: AdapterContext) {
    const options = parseOptions(kafkaQueueOptionsSchema, raw, 'kafka');
    return KafkaQueue.open(settingsOf(options), context.logger);
  },
};

/** The capability values of a Kafka queue (D262). */
export function kafkaCapabilities(settings: Pick<KafkaSettings, 'maxMessageBytes'>): QueueCapabilities {
  return {
    delay: true,
    priority: false,
    fifo: false,
    maxMessageBytes: settings.maxMessageBytes,
    durable: true,
    shared: true,
    partitionOrdering: false,
    delays: { maxMs: LONGEST_DELAY_MS, granularityMs: DELAY_STEP_MS },
    lease: null,
    redelivery: 'session',
    deliveryCounting: 'deliveries',
    staleSettles: 'harmless',
    priorities: 'none',
    ordering: 'per-partition',
    stats: 'approximate',
    deadLetterBrowsing: false,
  };
}

export class KafkaQueue implements QueueBackend {
  readonly type: string;
  readonly capabilities: QueueCapabilities;
  readonly #consumers = new Map<string, TopicConsumer>();
  readonly #movers = new Map<string, DelayMover>();
  readonly #readers = new Map<string, DeadLetterReader>();
  readonly #ready = new Map<string, Promise<void>>();
  readonly #publisher: Publisher;
  #secret: Promise<string> | undefined;
  #closed = false;

  private constructor(
    private readonly client: KafkaClient,
    private readonly logger: Logger,
  ) {
    this.type = client.settings.type;
    this.capabilities = kafkaCapabilities(client.settings);
    this.#publisher = new Publisher(client, client.settings.delayTiers);
  }

  static async open(settings: KafkaSettings, parent: Logger): Promise<KafkaQueue> {
    const logger = parent.child({ component: 'queue', backend: settings.type });
    const queue = new KafkaQueue(await KafkaClient.connect(settings, logger), logger);
    try {
      // The default queue's topics, now: a missing one (creation off or refused) stops start-up, named.
      if (settings.startupQueue !== null) await queue.#topics(topicOf(settings, settings.startupQueue));
    } catch (error) {
      await queue.close();
      throw error;
    }
    return queue;
  }

  get settings(): KafkaSettings {
    return this.client.settings;
  }

  /** The queue's topics exist (created when allowed), once per queue and instance. */
  #topics(queue: string): Promise<void> {
    let ready = this.#ready.get(queue);
    if (ready === undefined) {
      const retention = String(this.settings.deadLetterRetentionMs);
      ready = this.client.ensureTopics(queueTopics(queue, this.settings.delayTiers), (topic): Record<string, string> => (topic === deadLetterTopic(queue) ? { 'retention.ms': retention } : {}));
      this.#ready.set(queue, ready);
      // A failure (an outage, a missing topic) is asked again next time.
      ready.catch(() => this.#ready.delete(queue));
    }
    return ready;
  }

  async publish(name: string, message: OutboundMessage): Promise<PublishReceipt> {
    this.#assertOpen();
    assertSize(message.body, this.capabilities.maxMessageBytes);
    const queue = this.#topic(name);
    await this.#topics(queue);
    return { messageId: await this.#publisher.publish(queue, message) };
  }

  /** The topic a queue name is (the name itself, or an Event Hub's under the preset). */
  #topic(queue: string): string {
    return topicOf(this.settings, queue);
  }

  consume(name: string, options: ConsumeOptions, handler: DeliveryHandler): Subscription {
    this.#assertOpen();
    const queue = this.#topic(name);
    let consumer = this.#consumers.get(queue);
    if (consumer === undefined) {
      const groupId = `${this.settings.groupId}.${queue}`;
      const logger = this.logger.child({ queue });
      // Consumers start once the topics are there; until then (and while Kafka is away) they keep trying.
      const prepare = (): Promise<void> => this.#topics(queue);
      consumer = new TopicConsumer({ client: this.client, publisher: this.#publisher, topic: queue, groupId, logger, prepare });
      this.#consumers.set(queue, consumer);
      this.#movers.set(queue, new DelayMover({ client: this.client, publisher: this.#publisher, queue, topics: tierTopics(queue, this.settings.delayTiers), groupId: `${groupId}.delays`, logger, prepare }));
    }
    return consumer.subscribe(options.concurrency, handler, options.gate);
  }

  /** The consumer of `queue` in this instance, if any (tests reach the driver through it). */
  consumerOf(queue: string): TopicConsumer | undefined {
    return this.#consumers.get(this.#topic(queue));
  }

  /**
   * Approximate (D264): the lag of the queue's group, less what this member holds or finished
   * and has not committed yet, plus the lag of the delay tiers. Offsets of partitions this
   * member owns are its own; other members' are what they last committed.
   */
  async stats(name: string): Promise<QueueStats> {
    const queue = this.#topic(name);
    const groupId = `${this.settings.groupId}.${queue}`;
    const consumer = this.#consumers.get(queue);
    const owned = consumer?.owned() ?? new Map<number, OwnedPartition>();
    const main = await this.#lag(queue, groupId, (p) => owned.get(p)?.next);
    // Above its commit point, a partition this member owns has finished records (waiting only
    // for a lower one) and handed-out ones: neither is waiting for a consumer.
    const finishedAhead = [...owned.values()].reduce((sum, local) => sum + local.finishedAhead, 0);
    const waiting = main - finishedAhead - (consumer?.inFlight ?? 0);
    const moved = this.#movers.get(queue)?.moved() ?? new Map<string, bigint>();
    const tiers = await Promise.all(tierTopics(queue, this.settings.delayTiers).map((topic) => this.#lag(topic, `${groupId}.delays`, (p) => moved.get(`${topic}:${p}`))));
    const delayed = tiers.reduce((a, b) => a + b, 0);
    const dead = await this.deadLetters(name, { limit: this.settings.deadLetterMax });
    return { depth: Math.max(0, waiting) + delayed, delayed, inFlight: consumer?.inFlight ?? 0, deadLettered: dead.length };
  }

  /** Records of `topic` after the group's position (ours where we know better). */
  async #lag(topic: string, groupId: string, local: (partition: number) => bigint | undefined): Promise<number> {
    const limit = this.settings.requestTimeoutMs * 2;
    const [ends, committed] = await Promise.all([
      this.client.topicOffsets(topic),
      guarded('reading committed offsets', this.client.admin.fetchOffsets({ groupId, topics: [topic] }), limit),
    ]);
    const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    let lag = 0n;
    for (const end of ends) {
      const low = BigInt(end.low);
      const high = BigInt(end.high);
      const mine = local(end.partition);
      const theirs = byPartition.get(end.partition) ?? -1n;
      let position = mine ?? (theirs < 0n ? low : theirs);
      if (position < low) position = low;
      if (high > position) lag += high - position;
    }
    return Number(lag);
  }

  async deadLetters(name: string, options: { limit: number }): Promise<readonly DeadLetter[]> {
    this.#assertOpen();
    const queue = this.#topic(name);
    let reader = this.#readers.get(queue);
    if (reader === undefined) {
      await this.#topics(queue);
      reader = new DeadLetterReader(this.client, queue, `${this.settings.groupId}.${queue}.dlt`, { retentionMs: this.settings.deadLetterRetentionMs, max: this.settings.deadLetterMax }, this.logger);
      this.#readers.set(queue, reader);
    }
    return (await reader.read()).slice(0, options.limit);
  }

  /** Read-only paging over the same window: Kafka cannot remove one record, so dead letters are not managed one by one (D265). */
  async browseDeadLetters(queue: string, options: { limit: number; before?: string }): Promise<DeadLetterPage> {
    const before = options.before;
    if (before !== undefined && !/^(0|[1-9][0-9]{0,18})$/.test(before)) throw new HqmError('HQM_ERR_VALIDATION', `"${before}" is not a dead-letter id of the Kafka queue`);
    const all = await this.deadLetters(queue, { limit: this.settings.deadLetterMax });
    const older = before === undefined ? all : all.filter((d) => BigInt(d.id) < BigInt(before));
    const letters = older.slice(0, options.limit);
    return { letters, next: older.length > options.limit ? (letters.at(-1)?.id ?? null) : null };
  }

  async getDeadLetter(queue: string, id: string): Promise<DeadLetter | undefined> {
    return (await this.deadLetters(queue, { limit: this.settings.deadLetterMax })).find((d) => d.id === id);
  }

  removeDeadLetter(): Promise<boolean> {
    return Promise.reject(notManaged());
  }

  purgeDeadLetters(): Promise<number> {
    return Promise.reject(notManaged());
  }

  replayDeadLetter(): Promise<PublishReceipt | undefined> {
    return Promise.reject(notManaged());
  }

  async health(): Promise<HealthReport> {
    if (this.#closed) return { ok: false, detail: 'closed' };
    try {
      await guarded('asking Kafka for its brokers', this.client.admin.describeCluster(), this.settings.requestTimeoutMs);
    } catch (error) {
      return { ok: false, detail: error instanceof Error ? error.message : 'Kafka is unavailable' };
    }
    const stall = Math.max(this.settings.sessionTimeoutMs, 3 * this.settings.heartbeatIntervalMs);
    for (const parts of [[...this.#consumers.values()].map((c) => c.health(stall)), [...this.#movers.values()].map((m) => m.health())]) {
      const bad = parts.find((report) => !report.ok);
      if (bad !== undefined) return bad;
    }
    return { ok: true };
  }

  /**
   * The first record of a one-partition topic kept for it (D266): written when the topic is
   * empty, so of processes starting together each writes its own and all read the same first one.
   */
  deploymentSecret(): Promise<string> {
    this.#assertOpen();
    this.#secret ??= this.#readSecret().catch((error: unknown) => {
      this.#secret = undefined;
      throw error;
    });
    return this.#secret;
  }

  async #readSecret(): Promise<string> {
    const topic = secretTopic(this.settings.groupId);
    const limit = this.settings.requestTimeoutMs * 2;
    await this.client.ensureTopics([topic], () => ({ 'retention.ms': '-1', 'cleanup.policy': 'delete' }));
    const end = (await this.client.topicOffsets(topic)).find((p) => p.partition === 0);
    if (end === undefined || BigInt(end.high) <= BigInt(end.low)) await this.client.send(topic, { key: 'secret', value: randomBytes(32).toString('hex'), partition: 0 });
    return readFirst(this.client, topic, `${this.settings.groupId}.secret-reader-${randomBytes(6).toString('hex')}`, limit + this.settings.sessionTimeoutMs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#consumers.values(), ...this.#movers.values(), ...this.#readers.values()].map((c) => c.close()));
    this.#consumers.clear();
    this.#movers.clear();
    this.#readers.clear();
    await this.client.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the Kafka queue is closed', { retryable: false });
  }
}

function notManaged(): HqmError {
  return new HqmError('HQM_ERR_UNSUPPORTED', 'Kafka dead letters are records of a topic: they can be read, but not removed or replayed one by one (capability deadLetterBrowsing is false)');
}

/** The first record of partition 0 of `topic`, through a group of its own. */
async function readFirst(client: KafkaClient, topic: string, groupId: string, limitMs: number): Promise<string> {
  const consumer = client.consumer(groupId);
  try {
    return await guarded(
      'reading the deployment secret',
      new Promise<string>((resolve, reject) => {
        consumer
          .connect()
          .then(() => consumer.subscribe({ topics: [topic], fromBeginning: true }))
          .then(() =>
            consumer.run({
              autoCommit: false,
              eachMessage: async ({ partition, message }) => {
                if (partition === 0 && message.value !== null) resolve(message.value.toString('utf8'));
              },
            }),
          )
          .catch(reject);
      }),
      limitMs,
    );
  } catch (error) {
    throw error instanceof HqmError ? error : unavailable('reading the deployment secret failed', error);
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

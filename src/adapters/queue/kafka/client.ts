/**
 * The kafkajs side of the adapter, and the only file that loads it (lazily, so deployments on
 * other backends never do): the client, one producer whose sends of one event-loop turn leave as
 * one request, one admin connection, and topic creation. Swapping the client library means
 * rewriting this file and the consumers' use of `Consumer`, nothing else.
 *
 * @module
 */
import type * as KafkaJsModule from 'kafkajs';
import type { Admin, Consumer, ConsumerConfig, Kafka, LogEntry, Message, Producer } from 'kafkajs';
import { HqmError } from '../../../core/errors.js';
import type { Logger } from '../../../ports/logger.js';
import type { KafkaSettings } from './config.js';
import { guarded, unavailable } from './errors.js';

type KafkaJs = typeof KafkaJsModule;

async function loadKafkaJs(): Promise<KafkaJs> {
  try {
    const loaded = (await import('kafkajs')) as KafkaJs & { default?: KafkaJs };
    return loaded.default ?? loaded;
  } catch (error) {
    throw new HqmError('HQM_ERR_ADAPTER_UNKNOWN', 'queue.type kafka needs the kafkajs package: npm install kafkajs@2.2.4', { cause: error });
  }
}

interface Pending {
  readonly topic: string;
  readonly message: Message;
  resolve(): void;
  reject(error: unknown): void;
}

export class KafkaClient {
  readonly #pending: Pending[] = [];
  #flushing = false;
  #topicsKnown = new Set<string>();

  private constructor(
    readonly settings: KafkaSettings,
    readonly kafka: Kafka,
    private readonly producer: Producer,
    readonly admin: Admin,
    private readonly logger: Logger,
  ) {}

  static async connect(settings: KafkaSettings, logger: Logger): Promise<KafkaClient> {
    const lib = await loadKafkaJs();
    const levels = lib.logLevel;
    const kafka = new lib.Kafka({
      clientId: settings.clientId,
      brokers: [...settings.brokers],
      ssl: settings.ssl === false ? false : settings.ssl === true ? true : { ca: [settings.ssl.ca] },
      ...(settings.sasl === null ? {} : { sasl: { ...settings.sasl } as never }),
      connectionTimeout: settings.connectionTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      // A few quick retries, then the caller is told (a submit answers 503, a worker backs off):
      // kafkajs's default keeps a publish retrying for half a minute.
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
      logLevel: levels.WARN,
      logCreator: () => (entry: LogEntry) => {
        const fields = { kafkajs: entry.namespace, ...entry.log };
        const text = String(entry.log.message);
        if (entry.level <= levels.ERROR) logger.warn(fields, text);
        else logger.debug(fields, text);
      },
    });
    const producer = kafka.producer({ createPartitioner: lib.Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, idempotent: false });
    const admin = kafka.admin();
    try {
      await guarded('connecting to Kafka', Promise.all([producer.connect(), admin.connect()]), settings.connectionTimeoutMs + settings.requestTimeoutMs);
    } catch (error) {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      throw error;
    }
    return new KafkaClient(settings, kafka, producer, admin, logger);
  }

  /** A group consumer; restarted by kafkajs after any failure (its CRASH event says so). */
  consumer(groupId: string, extra: Partial<ConsumerConfig> = {}): Consumer {
    return this.kafka.consumer({
      groupId,
      sessionTimeout: this.settings.sessionTimeoutMs,
      rebalanceTimeout: Math.max(this.settings.sessionTimeoutMs, 10_000),
      heartbeatInterval: this.settings.heartbeatIntervalMs,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: this.settings.fetchMaxWaitMs,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000, restartOnFailure: async () => true },
      ...extra,
    });
  }

  /**
   * Publishes one record, resolved once the brokers acknowledged it (acks from every in-sync
   * replica). Records published in the same event-loop turn leave in one request.
   */
  send(topic: string, message: Message): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ topic, message, resolve, reject });
      if (!this.#flushing) {
        this.#flushing = true;
        setImmediate(() => void this.#flush());
      }
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#pending.splice(0);
    this.#flushing = false;
    const byTopic = new Map<string, Message[]>();
    for (const p of batch) {
      const list = byTopic.get(p.topic);
      if (list === undefined) byTopic.set(p.topic, [p.message]);
      else list.push(p.message);
    }
    try {
      await guarded(
        'publishing to Kafka',
        this.producer.sendBatch({ acks: -1, timeout: this.settings.requestTimeoutMs, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) }),
        2 * this.settings.requestTimeoutMs,
      );
      for (const p of batch) p.resolve();
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }

  /**
   * Makes sure `topics` exist: created when allowed (through the controller, or where the
   * cluster has none to talk to — librdkafka's mock — by asking for their metadata, which a
   * broker with auto-creation on answers by creating them); else an HQM_ERR_CONFIG naming the
   * first that is missing.
   */
  async ensureTopics(topics: readonly string[], configs: (topic: string) => Record<string, string> = () => ({})): Promise<void> {
    const wanted = topics.filter((t) => !this.#topicsKnown.has(t));
    if (wanted.length === 0) return;
    const limit = this.settings.requestTimeoutMs * 2;
    const existing = new Set(await guarded('listing Kafka topics', this.admin.listTopics(), limit));
    const missing = wanted.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      if (!this.settings.createTopics) {
        throw new HqmError('HQM_ERR_CONFIG', `the Kafka topic "${missing[0]}" does not exist, and ${this.settings.type}.create_topics is off: create ${missing.join(', ')} (${this.settings.partitions} partitions for the queue and its tiers, 1 for the dead letters) or turn create_topics on`, { details: { missing } });
      }
      await this.#create(missing, configs, limit);
      const after = new Set(await guarded('listing Kafka topics', this.admin.listTopics(), limit));
      const still = missing.filter((t) => !after.has(t));
      if (still.length > 0) throw unavailable(`the Kafka topic "${still[0]}" could not be created (the brokers refuse both CreateTopics and auto-creation)`);
    }
    for (const t of wanted) this.#topicsKnown.add(t);
  }

  async #create(missing: readonly string[], configs: (topic: string) => Record<string, string>, limit: number): Promise<void> {
    try {
      await guarded(
        'creating Kafka topics',
        this.admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({
            topic,
            numPartitions: topic.endsWith('.dlt') || topic.endsWith('.deployment-secret') ? 1 : this.settings.partitions,
            replicationFactor: this.settings.replicationFactor,
            configEntries: Object.entries(configs(topic)).map(([name, value]) => ({ name, value })),
          })),
        }),
        limit,
      );
    } catch (error) {
      // No controller to ask (librdkafka's mock cluster reports none): let metadata create them.
      this.logger.debug({ err: error }, 'CreateTopics failed; asking for the topics\' metadata instead (auto-creation)');
      await guarded('creating Kafka topics', this.admin.fetchTopicMetadata({ topics: [...missing] }), limit);
    }
  }

  /**
   * Each partition's low and high watermark. kafkajs 2.2.4 throws a TypeError when its metadata
   * has no partitions for the topic (one just created, before its leaders are known): that is
   * read as "nothing there yet".
   */
  async topicOffsets(topic: string): Promise<Array<{ partition: number; low: string; high: string }>> {
    try {
      return await guarded('reading topic offsets', this.admin.fetchTopicOffsets(topic), this.settings.requestTimeoutMs * 2);
    } catch (error) {
      if (error instanceof TypeError) return [];
      throw error;
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }
}

export function isRebalanceError(error: unknown): boolean {
  const type = (error as { type?: unknown } | undefined)?.type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'ILLEGAL_GENERATION' || type === 'UNKNOWN_MEMBER_ID' || type === 'NOT_COORDINATOR_FOR_GROUP';
}

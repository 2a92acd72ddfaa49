/**
 * Options of the Kafka queue: the original's `queue.kafka_*` keys, the queue section's shared
 * keys, and the `kafka:` section (security, topic creation, timeouts). The Event Hubs preset
 * (../azure-eventhubs) produces the same options from a connection string.
 *
 * @module
 */
import { z } from 'zod';
import { deadLetterOptionsSchema } from '../../shared/dead-letters.js';

/** Kafka's own default `message.max.bytes` leaves room for a 1,000,000-byte body and its headers. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_000_000;

export const saslSchema = z
  .object({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
    username: z.string(),
    password: z.string(),
  })
  .nullable();

/** The tuning keys the `kafka:` and `azure_eventhubs:` sections share. */
export const kafkaTuningShape = {
  /** Sent to the broker as the client id (its logs and quotas name it). */
  client_id: z.string().min(1).default('openhqm'),
  /** Create missing topics at start (the queue's, its retry tiers and its dead-letter topic); off: a missing one stops start-up, named. */
  create_topics: z.boolean().default(true),
  /** Partitions of the topics this process creates (the most worker processes that share one queue's work). */
  partitions: z.number().int().min(1).max(10_000).default(6),
  /** Replication factor of created topics; -1: the broker's default. */
  replication_factor: z.number().int().min(-1).max(32).default(-1),
  /** How many delay tiers (`<topic>.retry.<n>`, 1 s × 4^n each) the queue has: the longest single hop is 4^(n-1) s. */
  delay_tiers: z.number().int().min(1).max(12).default(8),
  /** A consumer silent this long is out of the group and its partitions go to the others. */
  session_timeout_ms: z.number().int().min(1000).default(30_000),
  heartbeat_interval_ms: z.number().int().min(100).default(3_000),
  connection_timeout_ms: z.number().int().min(100).default(3_000),
  /** A request the broker does not answer in this time fails (a publish answers 503). */
  request_timeout_ms: z.number().int().min(100).default(5_000),
  max_message_bytes: z.number().int().min(1024).default(DEFAULT_MAX_MESSAGE_BYTES),
  /** Longest a fetch waits at the broker for records: a broker answers at once when records arrive, so this bounds only idle polling. */
  fetch_max_wait_ms: z.number().int().min(10).max(30_000).default(500),
} as const;

export const kafkaQueueOptionsSchema = z
  .object({
    /** Comma-separated host:port list (the original's queue.kafka_bootstrap_servers). */
    kafka_bootstrap_servers: z.string().min(1).default('localhost:9092'),
    kafka_consumer_group: z.string().min(1).default('openhqm-workers'),
    /** The default queue's name: its topics are made sure of at start, so a missing one stops start-up. */
    request_queue_name: z.string().min(1).default('openhqm-requests'),
    ...kafkaTuningShape,
    /** TLS to the brokers; `ssl_ca` is a PEM bundle to trust instead of the system's. */
    ssl: z.boolean().default(false),
    ssl_ca: z.string().default(''),
    sasl_mechanism: z.enum(['', 'plain', 'scram-sha-256', 'scram-sha-512']).default(''),
    sasl_username: z.string().default(''),
    sasl_password: z.string().default(''),
  })
  .extend(deadLetterOptionsSchema.shape)
  .refine((o) => o.sasl_mechanism === '' || o.sasl_username !== '', { path: ['sasl_username'], message: 'required with sasl_mechanism' });

export type KafkaQueueOptions = z.infer<typeof kafkaQueueOptionsSchema>;

/** What the adapter runs on, whichever preset produced it. */
export interface KafkaSettings {
  /** The `queue.type` that chose it (`kafka`, `azure_eventhubs`). */
  readonly type: string;
  readonly brokers: readonly string[];
  readonly groupId: string;
  readonly clientId: string;
  readonly ssl: boolean | { readonly ca: string };
  readonly sasl: z.infer<typeof saslSchema>;
  readonly createTopics: boolean;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly delayTiers: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly fetchMaxWaitMs: number;
  readonly deadLetterRetentionMs: number;
  readonly deadLetterMax: number;
  /** The queue whose topics start-up makes sure of (the default queue), or null. */
  readonly startupQueue: string | null;
  /** Queue names starting with `from` (itself, or `from.<name>`) go to topics starting with `to` instead (an Event Hub's name); null: a queue is its topic. */
  readonly rename: { readonly from: string; readonly to: string } | null;
}

/** The topic of `queue` under `settings.rename`. */
export function topicOf(settings: Pick<KafkaSettings, 'rename'>, queue: string): string {
  const rename = settings.rename;
  if (rename === null) return queue;
  if (queue === rename.from) return rename.to;
  return queue.startsWith(`${rename.from}.`) ? rename.to + queue.slice(rename.from.length) : queue;
}

export function settingsOf(options: KafkaQueueOptions): KafkaSettings {
  return {
    type: 'kafka',
    brokers: options.kafka_bootstrap_servers.split(',').map((b) => b.trim()).filter((b) => b.length > 0),
    groupId: options.kafka_consumer_group,
    ssl: options.ssl ? (options.ssl_ca === '' ? true : { ca: options.ssl_ca }) : false,
    sasl: options.sasl_mechanism === '' ? null : { mechanism: options.sasl_mechanism, username: options.sasl_username, password: options.sasl_password },
    rename: null,
    startupQueue: options.request_queue_name,
    ...tuningOf(options),
  };
}

export function tuningOf(options: z.infer<z.ZodObject<typeof kafkaTuningShape>> & z.infer<typeof deadLetterOptionsSchema>) {
  return {
    clientId: options.client_id,
    createTopics: options.create_topics,
    partitions: options.partitions,
    replicationFactor: options.replication_factor,
    delayTiers: options.delay_tiers,
    sessionTimeoutMs: options.session_timeout_ms,
    heartbeatIntervalMs: Math.min(options.heartbeat_interval_ms, Math.floor(options.session_timeout_ms / 3)),
    connectionTimeoutMs: options.connection_timeout_ms,
    requestTimeoutMs: options.request_timeout_ms,
    maxMessageBytes: options.max_message_bytes,
    fetchMaxWaitMs: options.fetch_max_wait_ms,
    deadLetterRetentionMs: options.dead_letter_retention_seconds * 1000,
    deadLetterMax: options.dead_letter_max,
  };
}

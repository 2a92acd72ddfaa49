/**
 * The one configuration schema. Section and key names are the original project's (so
 * `OPENHQM_QUEUE__TYPE`, `OPENHQM_WORKER__COUNT`, … keep working); keys the original accepted
 * but this implementation has no use for are still accepted, and say so. Unknown keys are
 * errors, so a typo never silently falls back to a default.
 *
 * @module
 */
import { z } from 'zod';
import { bool, int, list, num, optionalStr, str, structured } from './fields.js';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'warning', 'error', 'critical', 'fatal', 'silent'] as const;

const server = z
  .object({
    host: str().default('0.0.0.0'),
    port: int().pipe(z.number().min(0).max(65535)).default(8000),
    /** Accepted for compatibility (uvicorn process count in the original); one Node process serves all. */
    workers: int().pipe(z.number().min(1)).default(1),
    /** Accepted for compatibility; ignored. */
    reload: bool().default(false),
  })
  .strict();

const api = z
  .object({
    max_body_bytes: int().pipe(z.number().min(1024)).default(1024 * 1024),
    max_json_depth: int().pipe(z.number().min(2).max(1000)).default(64),
    /** Upper bound of `?wait=N` long-polls; longer waits are cut to this. */
    max_wait_seconds: num().pipe(z.number().min(0).max(3600)).default(30),
    /** Serve /docs (Swagger UI). /openapi.json is always served. */
    docs_enabled: bool().default(true),
    /** Honour X-Forwarded-* from a proxy in front (true, or a hop count / address list). */
    trust_proxy: bool().default(false),
  })
  .strict();

const queue = z
  .object({
    type: str().default('sqlite'),
    /** Name of the queue (topic, stream) requests go through. */
    request_queue_name: str().min(1).default('openhqm-requests'),
    /** A delivery not acknowledged within this time is redelivered to another worker. */
    visibility_timeout_seconds: num().pipe(z.number().gt(0).max(43_200)).default(30),
    /** How often an idle consumer checks for work published by other processes (SQLite). */
    poll_interval_ms: int().pipe(z.number().min(1).max(60_000)).default(25),
    max_message_bytes: int().pipe(z.number().min(1024)).optional(),
    // Backend connection settings, named as in the original. Each adapter validates its own.
    redis_url: str().default('redis://localhost:6379'),
    kafka_bootstrap_servers: str().default('localhost:9092'),
    kafka_consumer_group: str().default('openhqm-workers'),
    kafka_topics: list(str()).default(['openhqm-requests']),
    sqs_region: str().default('us-east-1'),
    sqs_queue_url: str().default(''),
    azure_eventhubs_connection_string: str().default(''),
    azure_eventhubs_name: str().default('openhqm'),
    azure_eventhubs_consumer_group: str().default('$Default'),
    azure_eventhubs_checkpoint_store: str().default(''),
    gcp_project_id: str().default(''),
    gcp_credentials_path: str().default(''),
    gcp_max_messages: int().default(10),
    mqtt_broker_host: str().default('localhost'),
    mqtt_broker_port: int().default(1883),
    mqtt_username: str().default(''),
    mqtt_password: str().default(''),
    mqtt_qos: int().pipe(z.number().min(0).max(2)).default(1),
    mqtt_client_id: str().default(''),
    custom_module: str().default(''),
    custom_class: str().default(''),
    custom_config: structured(z.record(z.string(), z.unknown())).default({}),
    /** Accepted for compatibility; results go to the result store, not a response queue. */
    response_queue_name: str().default('openhqm-responses'),
    /** Accepted for compatibility; dead letters are kept per queue by the backend. */
    dlq_name: str().default('openhqm-dlq'),
  })
  .strict();

const cache = z
  .object({
    type: str().default('sqlite'),
    /** How long a record (and its result) is kept after its last change. */
    ttl_seconds: int().pipe(z.number().min(1)).default(3600),
    redis_url: str().default('redis://localhost:6379'),
    max_connections: int().pipe(z.number().min(1)).default(10),
  })
  .strict();

const sqlite = z
  .object({
    path: str().min(1).default('./data/openhqm.db'),
    /** NORMAL survives a process crash; FULL also survives power loss, at a cost per commit. */
    synchronous: str()
      .transform((v) => v.toUpperCase())
      .pipe(z.enum(['OFF', 'NORMAL', 'FULL'], { error: 'expected OFF, NORMAL or FULL' }))
      .default('NORMAL'),
    busy_timeout_ms: int().pipe(z.number().min(0)).default(5000),
  })
  .strict();

/** Settings of the Redis backends; the URLs stay in queue.redis_url and cache.redis_url (the original's names). */
const redis = z
  .object({
    /** Every key starts with `<key_prefix>:`; braces are reserved for cluster hash tags. */
    key_prefix: str()
      .min(1)
      .regex(/^[^{}]+$/, 'must not contain { or }')
      .default('openhqm'),
    /** The URLs name seed nodes of a Redis Cluster (comma-separated). */
    cluster: bool().default(false),
    /** ACL user and password, when not in the URL. */
    username: str().default(''),
    password: str().default(''),
    /** TLS even with a redis:// URL (rediss:// implies it); tls_ca is the CA certificate (PEM). */
    tls: bool().default(false),
    tls_ca: str().default(''),
    connect_timeout_ms: int().pipe(z.number().min(100)).default(10_000),
    command_timeout_ms: int().pipe(z.number().min(100)).default(5_000),
    dead_letter_max_len: int().pipe(z.number().min(1)).default(10_000),
  })
  .strict();

const worker = z
  .object({
    /** Requests processed at once by one worker process. */
    count: int().pipe(z.number().min(1).max(10_000)).default(5),
    /** Accepted for compatibility; deliveries are fetched in batches of free slots. */
    batch_size: int().pipe(z.number().min(1)).default(10),
    /** Default deadline of a request, counted from submission, when metadata.timeout is absent. */
    timeout_seconds: num().pipe(z.number().gt(0)).default(300),
    max_retries: int().pipe(z.number().min(0).max(100)).default(3),
    retry_delay_base: num().pipe(z.number().min(0)).default(1),
    retry_delay_max: num().pipe(z.number().min(0)).default(60),
    shutdown_grace_seconds: num().pipe(z.number().min(0)).default(30),
    /** Path of an ES module exporting `async (request, ctx) => result` (default export or `process`). */
    processor_module: optionalStr(),
    /** Name of this worker in logs, metrics and the audit trail; defaults to host-pid. */
    id: optionalStr(),
  })
  .strict()
  .refine((w) => w.retry_delay_max >= w.retry_delay_base, {
    path: ['retry_delay_max'],
    message: 'must be at least worker.retry_delay_base',
  });

const monitoring = z
  .object({
    metrics_enabled: bool().default(true),
    log_level: str()
      .transform((v) => v.toLowerCase())
      .pipe(z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }))
      .default('info'),
    /** auto: readable lines on a terminal, JSON otherwise. */
    log_format: str()
      .transform((v) => v.toLowerCase())
      .pipe(z.enum(['auto', 'json', 'text'], { error: 'expected auto, json or text' }))
      .default('auto'),
  })
  .strict();

export const configSchema = z
  .object({
    server: server.prefault({}),
    api: api.prefault({}),
    queue: queue.prefault({}),
    cache: cache.prefault({}),
    sqlite: sqlite.prefault({}),
    redis: redis.prefault({}),
    worker: worker.prefault({}),
    monitoring: monitoring.prefault({}),
  })
  .strict();

export type Config = z.output<typeof configSchema>;

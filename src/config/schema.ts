/**
 * The one configuration schema. Section and key names are the original project's (so
 * `OPENHQM_QUEUE__TYPE`, `OPENHQM_WORKER__COUNT`, … keep working); keys the original accepted
 * but this implementation has no use for are still accepted, and say so. Unknown keys are
 * errors, so a typo never silently falls back to a default.
 *
 * @module
 */
import { createHash, createPublicKey } from 'node:crypto';
import { z } from 'zod';
import { bool, int, list, num, optionalStr, str, structured, parseStructured } from './fields.js';
import { allowedAlgorithms, ROLES, TENANT_PATTERN } from '../core/access.js';
import { isHttpUrl } from '../core/http.js';
import { QUEUE_NAME_PATTERN, QUEUE_NAME_RULE, RESERVED_QUEUE_NAMES } from '../core/queues.js';
import { clusterDatabaseProblem, redisUrlProblem } from '../core/redis-url.js';
import { trustEntryProblem } from '../core/trust.js';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'warning', 'error', 'critical', 'fatal', 'silent'] as const;

/** Most processes one command may fork: a bound on a typo (`--processes 1000`), well above any machine's cores. */
export const MAX_PROCESSES = 256;

/** A process count: a whole number from 1 to MAX_PROCESSES, or "auto" (any case). */
const processCount = () =>
  z.preprocess(
    (value) => (typeof value === 'string' && value.trim().toLowerCase() === 'auto' ? 'auto' : value),
    z.union([z.literal('auto'), int().pipe(z.number().min(1, 'at least 1 process').max(MAX_PROCESSES, `at most ${MAX_PROCESSES} processes (or "auto": one per CPU)`))], {
      error: (i) => `expected a whole number from 1 to ${MAX_PROCESSES}, or "auto", got ${JSON.stringify(i.input)}`,
    }),
  );

const server = z
  .object({
    host: str().default('0.0.0.0'),
    port: int().pipe(z.number().min(0).max(65535)).default(8000),
    /** Accepted for compatibility (uvicorn process count in the original); ignored: server.processes is the process count (D153). */
    workers: int().pipe(z.number().min(1)).default(1),
    /** Accepted for compatibility; ignored. */
    reload: bool().default(false),
    /**
     * Processes of `openhqm start | api | worker` sharing one listening socket (node:cluster, D150);
     * "auto": one per CPU the process may use. 1: no cluster, today's single process.
     */
    processes: processCount().default(1),
    /** HTTPS for the API: both files (PEM) or neither. */
    tls: z
      .object({
        cert_file: optionalStr(),
        key_file: optionalStr(),
      })
      .strict()
      .refine((t) => (t.cert_file === null) === (t.key_file === null), { message: 'set both cert_file and key_file, or neither' })
      .prefault({}),
  })
  .strict();

/** api.trust_proxy in the forms Fastify's trustProxy takes; from the environment, "1" is a hop count and "a,b" a list. */
const trustProxy = () =>
  z
    .preprocess(
      (value) => {
        if (typeof value !== 'string') return value;
        const text = value.trim();
        if (/^(true|yes|on)$/i.test(text)) return true;
        if (/^(false|no|off|)$/i.test(text)) return false;
        if (/^\d+$/.test(text)) return Number(text);
        return text.split(',').map((entry) => entry.trim());
      },
      z.union([z.boolean(), z.number().int().min(0, 'a hop count cannot be negative'), z.array(z.string()).min(1, 'an empty list trusts no peer: write false')], {
        error: (i) => `expected true, false, a hop count or a list of addresses/CIDRs, got ${JSON.stringify(i.input)}`,
      }),
    )
    .superRefine((value, ctx) => {
      if (!Array.isArray(value)) return;
      for (const entry of value) {
        const problem = trustEntryProblem(entry);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      }
    });

const api = z
  .object({
    max_body_bytes: int().pipe(z.number().min(1024)).default(1024 * 1024),
    max_json_depth: int().pipe(z.number().min(2).max(1000)).default(64),
    /** Above this many waiting messages, submit answers 503 with Retry-After (load shedding); 0 disables it. */
    max_queue_depth: int().pipe(z.number().min(0)).default(100_000),
    /** Event-loop delay (ms) above which the API answers 503 instead of queueing more work; 0 disables it. */
    max_event_loop_delay_ms: int().pipe(z.number().min(0)).default(1000),
    /** How long an Idempotency-Key is remembered; null: cache.ttl_seconds. Never longer than that (a replay needs the record). */
    idempotency_ttl_seconds: int().pipe(z.number().min(1)).nullable().default(null),
    /** Most requests one POST /api/v1/submit/batch may carry. */
    max_batch: int().pipe(z.number().min(1).max(100_000)).default(1000),
    /** Largest body of a batch submit (max_body_bytes applies to every other request). */
    max_batch_body_bytes: int().pipe(z.number().min(1024)).default(16 * 1024 * 1024),
    /** Furthest ahead metadata.delay / metadata.run_at may put a request (seconds); more is 422. */
    max_delay_seconds: int().pipe(z.number().min(1).max(365 * 24 * 3600)).default(30 * 24 * 3600),
    /** Upper bound of `?wait=N` long-polls; longer waits are cut to this. */
    max_wait_seconds: num().pipe(z.number().min(0).max(3600)).default(30),
    /** Most `?wait=N` long-polls waiting at once in one process; past it a request answers at once, as with wait=0. */
    max_waiters: int().pipe(z.number().min(0)).default(10_000),
    /** Most live streams (SSE trails, WebSocket connections) open at once in one process; past it a new one is 503. */
    max_streams: int().pipe(z.number().min(0)).default(10_000),
    /** How often an idle SSE stream sends a comment line (and a WebSocket a ping), so proxies keep it open. */
    stream_heartbeat_seconds: num().pipe(z.number().min(0.01).max(3600)).default(15),
    /** Most requests one WebSocket connection may follow at once. */
    ws_max_subscriptions: int().pipe(z.number().min(1).max(1_000_000)).default(1000),
    /** A WebSocket client that leaves more than this unread is closed with 1008 instead of the server buffering for it. */
    ws_max_buffered_bytes: int().pipe(z.number().min(1024)).default(1024 * 1024),
    /** How often the live queue table (GET /api/v1/queues as Server-Sent Events) is read and sent; one read per process, shared by every stream. */
    queues_stream_interval_seconds: num().pipe(z.number().min(0.1).max(60)).default(2),
    /** Serve /docs (Swagger UI). /openapi.json is always served. */
    docs_enabled: bool().default(true),
    /** Serve the admin dashboard at /dashboard (its data comes from the API, with the operator's credential). */
    dashboard_enabled: bool().default(true),
    /**
     * Peers trusted to speak for the client: their X-Forwarded-* and Forwarded headers are
     * believed (request.ip), kept and appended to upstream; an untrusted client's are dropped.
     * true, false, a hop count, or a list of addresses/CIDRs (loopback, linklocal, uniquelocal).
     */
    trust_proxy: trustProxy().default(false),
  })
  .strict();

/** queue.type and cache.type: case-insensitive, like the other names of a choice (log_level, strategy). */
const backendName = () => str().trim().toLowerCase().default('sqlite');

/** queue.redis_url and cache.redis_url: checked whenever set, whichever backend is chosen. */
const redisUrl = () =>
  str()
    .superRefine((value, ctx) => {
      const problem = redisUrlProblem(value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default('redis://localhost:6379');

/** queue.postgres_url and cache.postgres_url: a libpq connection URL. */
const postgresUrl = () =>
  str()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .default('postgres://localhost:5432/openhqm');

const queue = z
  .object({
    type: backendName(),
    /** Name of the queue (topic, stream) requests go through: a name every broker accepts as is. */
    request_queue_name: str()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'must be 1–200 letters, digits, ".", "_" or "-", starting with a letter or digit')
      .default('openhqm-requests'),
    /** A delivery not acknowledged within this time is redelivered to another worker. */
    visibility_timeout_seconds: num().pipe(z.number().gt(0).max(43_200)).default(30),
    /** How often an idle consumer checks for work published by other processes (SQLite). */
    poll_interval_ms: int().pipe(z.number().min(1).max(60_000)).default(25),
    /**
     * Where the queue and the result store share one server (one SQLite file, one Redis, one
     * PostgreSQL database and schema), submit and finish each write both in one atomic step
     * (ports/fused.ts). Off: the two ports are used separately, as for a mixed deployment.
     */
    fused: bool().default(true),
    max_message_bytes: int().pipe(z.number().min(1024)).optional(),
    /**
     * Keys the ids of messages outside producers write without one (HMAC-SHA256), so they cannot
     * be guessed; at least 16 characters, the same in every process (`id_secret_file` reads it from
     * a file). Unset: one is generated once and kept in the queue backend.
     */
    id_secret: optionalStr().refine((v) => v === null || v.length >= 16, 'must be at least 16 characters (use a long random string)'),
    /** Dead letters older than this are dropped, on every backend (7 days by default). */
    dead_letter_retention_seconds: int().pipe(z.number().min(1)).default(604_800),
    /** At most this many dead letters are kept per queue, on every backend; the oldest go first. */
    dead_letter_max: int().pipe(z.number().min(1)).default(10_000),
    // Backend connection settings, named as in the original. Each adapter validates its own.
    redis_url: redisUrl(),
    postgres_url: postgresUrl(),
    /** NATS server(s) of the `nats` queue: `nats://[user:password@]host[:port]`, comma-separated for a cluster's seeds. */
    nats_url: str()
      .regex(/^(nats|tls):\/\/[^,\s]+(,\s*(nats|tls):\/\/[^,\s]+)*$/, 'must be a nats:// (or tls://) URL, or a comma-separated list of them')
      .default('nats://localhost:4222'),
    /** queue.type rabbitmq: an AMQP 0-9-1 URL (amqps:// for TLS), credentials and virtual host included. */
    rabbitmq_url: str()
      .regex(/^amqps?:\/\//, 'must be an amqp:// or amqps:// URL')
      .default('amqp://guest:guest@localhost:5672'),
    kafka_bootstrap_servers: str().default('localhost:9092'),
    kafka_consumer_group: str().default('openhqm-workers'),
    kafka_topics: list(str()).default(['openhqm-requests']),
    sqs_region: str().default('us-east-1'),
    sqs_queue_url: str().default(''),
    /** queue.type sqs: another endpoint than AWS's (moto, LocalStack, a VPC endpoint); empty: the region's. */
    sqs_endpoint_url: str()
      .refine((v) => v === '' || /^https?:\/\/\S+$/.test(v), 'must be an http:// or https:// URL')
      .default(''),
    /** queue.type sqs: how long one receive waits for a message (long polling), 0–20 s. */
    sqs_wait_seconds: int().pipe(z.number().min(0).max(20)).default(20),
    azure_eventhubs_connection_string: str().default(''),
    azure_eventhubs_name: str().default('openhqm'),
    azure_eventhubs_consumer_group: str().default('$Default'),
    azure_eventhubs_checkpoint_store: str().default(''),
    gcp_project_id: str().default(''),
    gcp_credentials_path: str().default(''),
    /** Most messages one pull of the `gcp_pubsub` queue asks for (a worker's free slots cap it further). */
    gcp_max_messages: int().pipe(z.number().min(1).max(1000)).default(10),
    mqtt_broker_host: str().default('localhost'),
    mqtt_broker_port: int().default(1883),
    mqtt_username: str().default(''),
    mqtt_password: str().default(''),
    mqtt_qos: int().pipe(z.number().min(0).max(2)).default(1),
    mqtt_client_id: str().default(''),
    /** How long the broker keeps a disconnected MQTT session (its subscriptions and unacknowledged messages). */
    mqtt_session_expiry_seconds: int().pipe(z.number().min(0).max(4_294_967_295)).default(86_400),
    /** The shared-subscription group of `openhqm bridge mqtt` (`$share/<group>/<topic>`). */
    mqtt_share_group: str()
      .regex(/^[^/+#]+$/, 'must not be empty or contain /, + or #')
      .default('openhqm'),
    /** queue.type mqtt: topics are `<prefix>/<queue>`. */
    mqtt_topic_prefix: str()
      .regex(/^[^+#]+$/, 'must not be empty or contain + or #')
      .default('openhqm'),
    /** queue.type mqtt delivers each request at most once (lost with a worker that dies); it refuses to start until this says so. */
    mqtt_at_most_once: bool().default(false),
    /** queue.type custom: an ES module (a path from the working directory, a file: URL or a package name) exporting the backend's factory. */
    custom_module: str().default(''),
    /** The export of custom_module that is the factory; empty: the default export, else the one named `factory`. */
    custom_class: str().default(''),
    /** Handed to the factory's create() over the queue section's own keys. */
    custom_config: structured(z.record(z.string(), z.unknown())).default({}),
    /** Accepted for compatibility; results go to the result store, not a response queue. */
    response_queue_name: str().default('openhqm-responses'),
    /** Accepted for compatibility; dead letters are kept per queue by the backend. */
    dlq_name: str().default('openhqm-dlq'),
  })
  .strict();

const cache = z
  .object({
    type: backendName(),
    /** How long a record is kept past its deadline while unfinished, and past its completion once finished. */
    ttl_seconds: int().pipe(z.number().min(1)).default(3600),
    redis_url: redisUrl(),
    postgres_url: postgresUrl(),
    max_connections: int().pipe(z.number().min(1)).default(10),
    /** cache.type custom: as queue.custom_module, queue.custom_class and queue.custom_config, for a result store. */
    custom_module: str().default(''),
    custom_class: str().default(''),
    custom_config: structured(z.record(z.string(), z.unknown())).default({}),
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
    /** Deprecated alias of queue.dead_letter_max: when set, it takes its place for the Redis queue. */
    dead_letter_max_len: int().pipe(z.number().min(1)).nullable().default(null),
  })
  .strict();

/** Settings of the PostgreSQL backends; the URLs stay in queue.postgres_url and cache.postgres_url. */
const postgres = z
  .object({
    /** Most connections of each adapter's pool (the queue's and the store's; each has one more for LISTEN). */
    pool_size: int().pipe(z.number().min(1).max(1000)).default(10),
    /** The schema the tables live in (created when missing), so deployments can share a database. */
    schema: str()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case identifier (letters, digits, _), at most 63 characters')
      .default('public'),
    connect_timeout_ms: int().pipe(z.number().min(100)).default(10_000),
    statement_timeout_ms: int().pipe(z.number().min(100)).default(5_000),
  })
  .strict();

/** Settings of the NATS JetStream queue; the URL stays in queue.nats_url. */
const nats = z
  .object({
    /** Streams are `<stream_prefix>_<queue>` (and `…_DLQ`), so several deployments can share one server. */
    stream_prefix: str()
      .regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1–32 letters, digits, "-" or "_"')
      .default('OPENHQM'),
    /** Subjects are `<subject_prefix>.<queue>`: where outside producers publish. */
    subject_prefix: str()
      .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be dot-separated tokens of letters, digits, "-" or "_"')
      .default('openhqm'),
    /** Copies of each stream: 3 on a cluster. */
    replicas: int().pipe(z.number().min(1).max(5)).default(1),
    storage: str()
      .transform((v) => v.toLowerCase())
      .pipe(z.enum(['file', 'memory'], { error: 'expected file or memory' }))
      .default('file'),
    username: str().default(''),
    password: str().default(''),
    token: str().default(''),
    connect_timeout_ms: int().pipe(z.number().min(100)).default(10_000),
    request_timeout_ms: int().pipe(z.number().min(100)).default(5_000),
  })
  .strict();

/** The tuning keys of the Kafka backends (`kafka:` and, for the Event Hubs preset, `azure_eventhubs:`); the adapter validates them again. */
const kafkaTuning = {
  client_id: str().min(1).default('openhqm'),
  /** Create the queues' topics (and their delay tiers and dead-letter topic) when missing; off: a missing one stops start-up, named. */
  create_topics: bool().default(true),
  /** Partitions of the topics this process creates: the most worker processes that share a queue's work. */
  partitions: int().pipe(z.number().min(1).max(10_000)).default(6),
  replication_factor: int().pipe(z.number().min(-1).max(32)).default(-1),
  /** Delay tiers per queue (`<topic>.retry.<n>`, 1 s × 4^n each). */
  delay_tiers: int().pipe(z.number().min(1).max(12)).default(8),
  session_timeout_ms: int().pipe(z.number().min(1000)).default(30_000),
  heartbeat_interval_ms: int().pipe(z.number().min(100)).default(3_000),
  connection_timeout_ms: int().pipe(z.number().min(100)).default(3_000),
  request_timeout_ms: int().pipe(z.number().min(100)).default(5_000),
  fetch_max_wait_ms: int().pipe(z.number().min(10).max(30_000)).default(500),
};

/** Settings of the Kafka queue beyond the original's queue.kafka_* keys: security, topics, timeouts. */
const kafka = z
  .object({
    ...kafkaTuning,
    ssl: bool().default(false),
    /** A PEM bundle to trust for the brokers' certificates instead of the system's. */
    ssl_ca: str().default(''),
    sasl_mechanism: str()
      .trim()
      .toLowerCase()
      .pipe(z.enum(['', 'plain', 'scram-sha-256', 'scram-sha-512'], { error: 'expected plain, scram-sha-256 or scram-sha-512 (or empty for none)' }))
      .default(''),
    sasl_username: str().default(''),
    sasl_password: str().default(''),
  })
  .strict();

/** Settings of the Event Hubs preset beyond the original's queue.azure_eventhubs_* keys (TLS and SASL come from the connection string). */
const azureEventhubs = z.object(kafkaTuning).strict();

/** Settings of the RabbitMQ queue; the URL stays in queue.rabbitmq_url. */
const rabbitmq = z
  .object({
    /** Put before every queue, stream and exchange name the adapter declares, so deployments can share a virtual host. */
    prefix: str().regex(/^[^\s]*$/, 'must not contain spaces').default(''),
    /** The lowest priority of each band above 0; each band is a quorum queue of its own (D221). */
    priority_bands: list(int().pipe(z.number().min(1).max(9))).default([5, 9]),
    /** The broker's consumer_timeout (30 minutes by default): a delivery held half as long is parked so its channel is not closed. */
    consumer_timeout_ms: int().pipe(z.number().min(1000)).default(1_800_000),
    connect_timeout_ms: int().pipe(z.number().min(100)).default(10_000),
    /** AMQP heartbeat: a broker silent for twice this long counts as gone. 0 turns it off. */
    heartbeat_seconds: int().pipe(z.number().min(0).max(600)).default(30),
  })
  .strict();

/** Settings of the Pub/Sub queue beyond the original's queue.gcp_* keys. */
const gcpPubsub = z
  .object({
    /** host:port of an emulator (plain-text gRPC) or another endpoint; empty: Google's, or PUBSUB_EMULATOR_HOST. */
    endpoint: str()
      .regex(/^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):\d{1,5}$|^$/, 'must be host:port')
      .default(''),
    /** Put before every topic and subscription name the adapter creates; starts with a letter. */
    prefix: str()
      .regex(/^[A-Za-z][A-Za-z0-9._~+%-]*$/, 'must start with a letter and hold only letters, digits and . _ ~ + % -')
      .default('openhqm.'),
    /** Partition keys become ordering keys, one message at a time per key (D254); fixed when a subscription is created. */
    ordering: bool().default(false),
    /** How long one call to Pub/Sub may take before the server counts as unreachable. */
    request_timeout_ms: int().pipe(z.number().min(100)).default(10_000),
  })
  .strict();

const worker = z
  .object({
    /** Requests processed at once by one worker process. */
    count: int().pipe(z.number().min(1).max(10_000)).default(5),
    /** Accepted for compatibility; deliveries are fetched in batches of free slots. */
    batch_size: int().pipe(z.number().min(1)).default(10),
    /** Default deadline of a request, counted from submission, when metadata.timeout is absent. */
    timeout_seconds: num().pipe(z.number().gt(0).max(31_536_000)).default(300),
    max_retries: int().pipe(z.number().min(0).max(100)).default(3),
    retry_delay_base: num().pipe(z.number().min(0)).default(1),
    retry_delay_max: num().pipe(z.number().min(0)).default(60),
    shutdown_grace_seconds: num().pipe(z.number().min(0)).default(30),
    /** Path of an ES module exporting `async (request, ctx) => result` (default export or `process`). */
    processor_module: optionalStr(),
    /** Longest the built-in `sleep` operation may wait; a longer one is refused (422 at submit, else FAILED). */
    builtin_sleep_max_seconds: num().pipe(z.number().min(0).max(31_536_000)).default(60),
    /** Name of this worker in logs, metrics and the audit trail; defaults to host-pid. */
    id: optionalStr(),
    /** Largest processor result stored, as JSON bytes; a larger one fails the request (HQM_ERR_RESULT_TOO_LARGE). */
    max_result_bytes: int().pipe(z.number().min(1024)).default(16 * 1024 * 1024),
    /** Names of `queues` this process consumes (`openhqm worker --queues high,default`); empty: all of them. */
    queues: list(str().trim().toLowerCase()).default([]),
  })
  .strict()
  .refine((w) => w.retry_delay_max >= w.retry_delay_base, {
    path: ['retry_delay_max'],
    message: 'must be at least worker.retry_delay_base',
  });

/**
 * One named queue (see core/queues.ts). Every override left null takes the worker's value.
 * `concurrency` caps the queue's share of the process's `worker.count` slots (D105).
 */
const namedQueue = z
  .object({
    /** Share of the worker's free slots under contention: weights 3/2/1 start requests about 3:2:1. */
    weight: int().pipe(z.number().min(1).max(1000)).default(1),
    /** Most of this queue's requests running at once in one worker process; null: up to worker.count. */
    concurrency: int().pipe(z.number().min(1).max(10_000)).nullable().default(null),
    max_retries: int().pipe(z.number().min(0).max(100)).nullable().default(null),
    retry_delay_base: num().pipe(z.number().min(0)).nullable().default(null),
    /** Deadline of a request of this queue when metadata.timeout is absent. */
    timeout_seconds: num().pipe(z.number().gt(0).max(31_536_000)).nullable().default(null),
  })
  .strict();

/** `queues:` as a mapping of name to settings; `high:` with nothing under it is a queue with the defaults. */
const queueMap = () =>
  z
    .preprocess(
      (value) => {
        const v = typeof value === 'string' ? parseStructured(value) : value;
        if (typeof v === 'object' && v !== null && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).map(([name, settings]) => [name, settings ?? {}]));
        return v;
      },
      z.record(str().regex(QUEUE_NAME_PATTERN, QUEUE_NAME_RULE), namedQueue, {
        error: (i) => (i.code === 'invalid_type' ? 'expected a mapping of queue name to its settings (weight, concurrency, …)' : i.code === 'invalid_key' ? QUEUE_NAME_RULE : undefined),
      }),
    )
    .default({});

const HTTP_METHOD = /^[A-Za-z]{1,16}$/;

const httpUrl = () =>
  str().refine((value) => {
    try {
      return ['http:', 'https:'].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, 'expected an http(s) URL');

/** "500-599", "429" or 503: an HTTP status or an inclusive range, normalized to "lo-hi". */
const statusRange = () =>
  z
    .union([z.number().int(), str()])
    .transform((v) => String(v).trim())
    .refine((v) => /^[1-5]\d\d(-[1-5]\d\d)?$/.test(v), 'expected an HTTP status (503) or a range (500-599)')
    .transform((v) => (v.includes('-') ? v : `${v}-${v}`));

const circuitBreaker = z
  .object({
    /** Consecutive failures (connection errors, timeouts, 5xx, 429) that open the circuit; 0 disables it. */
    failure_threshold: int().pipe(z.number().min(0)).default(5),
    /** How long the circuit stays open before one probe request is let through. */
    reset_timeout_seconds: num().pipe(z.number().gt(0)).default(30),
  })
  .strict();

const endpoint = z
  .object({
    url: httpUrl(),
    method: str()
      .regex(HTTP_METHOD, 'expected an HTTP method name')
      .transform((v) => v.toUpperCase())
      .default('POST'),
    /** Seconds one upstream call may take. */
    timeout: num().pipe(z.number().gt(0)).default(300),
    headers: structured(z.record(z.string(), z.string())).nullable().default(null),
    auth_type: z.enum(['bearer', 'basic', 'api_key', 'custom'], { error: 'expected bearer, basic, api_key or custom' }).nullable().default(null),
    auth_token: optionalStr(),
    auth_username: optionalStr(),
    auth_password: optionalStr(),
    /** Header for api_key (default X-API-Key) and custom (default Authorization) auth. */
    auth_header_name: optionalStr(),
    /** Most calls in flight to this endpoint from one worker process; null: no limit. */
    max_concurrency: int().pipe(z.number().min(1)).nullable().default(null),
    /** Most calls started per second to this endpoint from one worker process; null: no limit. */
    rate_limit_per_second: num().pipe(z.number().gt(0)).nullable().default(null),
    circuit_breaker: circuitBreaker.optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    const missing = (key: string): void => ctx.addIssue({ code: 'custom', path: [key], message: `required when auth_type is ${e.auth_type}` });
    if ((e.auth_type === 'bearer' || e.auth_type === 'api_key' || e.auth_type === 'custom') && e.auth_token === null) missing('auth_token');
    if (e.auth_type === 'basic' && e.auth_username === null) missing('auth_username');
    if (e.auth_type === 'basic' && e.auth_password === null) missing('auth_password');
    // user:password@ in the URL is sent as Basic auth; next to other credentials one would be lost.
    if (hasUserinfo(e.url)) {
      const clash = e.auth_type !== null ? `auth_type ${e.auth_type}` : Object.keys(e.headers ?? {}).some((h) => h.toLowerCase() === 'authorization') ? 'an Authorization header' : null;
      if (clash !== null) ctx.addIssue({ code: 'custom', path: ['url'], message: `carries user:password@ (sent as Basic auth) and the endpoint also sets ${clash}: keep one` });
    }
  });

function hasUserinfo(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return false;
  }
}

const proxy = z
  .object({
    enabled: bool().default(false),
    /** A URL, or the name of an entry of proxy.endpoints, used when a request names none. */
    default_endpoint: optionalStr(),
    endpoints: structured(z.record(z.string(), endpoint)).default({}),
    /** Request headers forwarded upstream (case-insensitive); "*" forwards all but the stripped ones. */
    forward_headers: list(str()).default(['Content-Type', 'Accept', 'User-Agent']),
    strip_headers: list(str()).default(['Host', 'Connection']),
    /** Largest upstream response body kept, in bytes; a larger one fails the request. */
    max_response_size: int().pipe(z.number().min(0)).default(10 * 1024 * 1024),
    /** Upstream statuses retried like connection errors (with backoff, honouring Retry-After). */
    retry_on_status: list(statusRange()).default(['429-429', '500-599']),
    /** Upstream statuses that end a request FAILED (after its retries) instead of relayed as COMPLETED. */
    fail_on_status: list(statusRange()).default([]),
    /** Defaults for every endpoint's circuit breaker. */
    circuit_breaker: circuitBreaker.prefault({}),
    /** Upstream connections kept open per origin (per worker process). */
    max_connections: int().pipe(z.number().min(1)).default(128),
    capture: z
      .object({
        /** Capture any request outside the control paths and queue it for the default endpoint. */
        enabled: bool().default(false),
        /** Moves the control paths (/api/v1, /health, /metrics, /docs, /openapi.json) under this prefix, e.g. /_openhqm. */
        control_prefix: str()
          .regex(/^(\/[A-Za-z0-9._~-]+)*$/, 'expected "" or a path such as /_openhqm')
          .default(''),
        /** Seconds a client should wait before fetching the result (Retry-After of the 202 of a capture and of a submit). */
        retry_after_seconds: int().pipe(z.number().min(0)).default(1),
        /** With auth.enabled: captured requests need a credential too (else they are open; the control paths never are). */
        require_auth: bool().default(false),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const routing = z
  .object({
    /** Route each request with a routes file (the original's format) before forwarding it. */
    enabled: bool().default(false),
    /** YAML or JSON routes file; watched, and reloaded when it changes. */
    config_path: optionalStr(),
    /** The routes inline (a mapping; JSON or YAML text from the environment). */
    config_dict: structured(z.record(z.string(), z.unknown())).nullable().default(null),
    /** Refuse a routes file with any broken route; false loads it, warns once per broken route and fails only the requests such a route matches. */
    strict: bool().default(true),
    /** Largest body (compact JSON, bytes) a route's transform may build; a larger one fails that request (HQM_ERR_TRANSFORM). */
    max_transform_output_bytes: int().pipe(z.number().min(1024)).default(1024 * 1024),
  })
  .strict();

const partitioning = z
  .object({
    /** Process requests with the same partition key one at a time, in submission order. */
    enabled: bool().default(false),
    strategy: str()
      .transform((v) => v.toLowerCase())
      .pipe(z.enum(['sticky', 'hash', 'key', 'round_robin'], { error: 'expected sticky, hash, key or round_robin' }))
      .default('sticky'),
    partition_count: int().pipe(z.number().min(1).max(100_000)).default(10),
    /** Dotted path of the key in the submitted message (metadata.session_id, payload.user.id, …). */
    partition_key_field: str().min(1).default('metadata.partition_key'),
    /** Read when partition_key_field is absent from a message. */
    session_key_field: str().min(1).default('metadata.session_id'),
    /** Accepted for compatibility: ownership of a key moves with its next message, not by time. */
    sticky_session_ttl: int().pipe(z.number().min(0)).default(3600),
    /** Accepted for compatibility; there is no static assignment to rebalance. */
    rebalance_on_worker_change: bool().default(true),
    /** Accepted for compatibility; ordering is enforced by the queue backend itself. */
    enable_queue_partitioning: bool().default(false),
    /** Accepted for compatibility. */
    redis_consumer_group: str().default('openhqm-workers'),
    /** Accepted for compatibility. */
    kafka_partition_assignment: str().default('sticky'),
  })
  .strict();

const monitoring = z
  .object({
    metrics_enabled: bool().default(true),
    /** Port of the health and metrics listener of `openhqm worker`; 0: none (api and start serve them on server.port). */
    metrics_port: int().pipe(z.number().min(0).max(65535)).default(0),
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

/** Hourly analytics (GET /api/v1/stats): counters per hour and queue, kept in the result store. */
const analytics = z
  .object({
    /** How long an hour's counters are kept after the hour ended. */
    retention_days: int().pipe(z.number().min(1).max(3650)).default(30),
  })
  .strict();

/** A secret given inline: an error about it never repeats the value (str() would). */
const secretStr = () => z.preprocess((v) => (v === '' ? null : v), z.string({ error: 'expected a string (quote it in YAML)' }).nullable()).default(null);

const TENANT_NAME_RULE = 'expected a tenant name: letters, digits, ".", "_" or "-", at most 64, starting with a letter or digit';
const tenantName = () => str().regex(TENANT_PATTERN, TENANT_NAME_RULE);

/**
 * Limits of one tenant. `inherit` is the value of a key left out: null (no limit) for
 * auth.default_tenant, undefined (take auth.default_tenant's) for an entry of auth.tenants.
 */
const tenantLimits = (inherit: null | undefined) =>
  z
    .object({
      /** Most requests of the tenant PROCESSING at once across every worker sharing the result store; null: no limit. */
      max_concurrency: inherit === null ? int().pipe(z.number().min(1)).nullable().default(null) : int().pipe(z.number().min(1)).nullable().optional(),
      /** Most submits per second of the tenant (submit, batch, capture), shared by API processes on one Redis; null: no limit. */
      rate_per_second: inherit === null ? num().pipe(z.number().positive()).nullable().default(null) : num().pipe(z.number().positive()).nullable().optional(),
      /** Most submits of the tenant at once after a quiet spell; null: one second's worth (at least 1). */
      burst: inherit === null ? int().pipe(z.number().min(1)).nullable().default(null) : int().pipe(z.number().min(1)).nullable().optional(),
    })
    .strict()
    .superRefine((e, ctx) => {
      if (e.burst !== undefined && e.burst !== null && e.rate_per_second === null) ctx.addIssue({ code: 'custom', path: ['burst'], message: 'needs rate_per_second: a burst of an unlimited rate means nothing' });
    });

/** auth.tenants as a mapping of name to limits; a plain list of names (the older form) means no limits of their own. */
const tenantMap = () =>
  z
    .preprocess(
      (value) => {
        let v: unknown = value;
        if (typeof v === 'string') {
          const text = v.trim();
          v = text.startsWith('{') || text.startsWith('[') ? parseStructured(text) : text === '' ? [] : text.split(',').map((t) => t.trim());
        }
        if (Array.isArray(v)) return Object.fromEntries(v.map((name) => [String(name), {}]));
        // `tenants: {a:}` in YAML gives a null entry: a tenant with no limits of its own.
        if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([name, limits]) => [name, limits ?? {}]));
        return v;
      },
      z.record(tenantName(), tenantLimits(undefined), {
        error: (i) =>
          i.code === 'invalid_type' ? 'expected a list of tenant names or a mapping of tenant name to its limits' : i.code === 'invalid_key' ? TENANT_NAME_RULE : undefined,
      }),
    )
    .default({});

const roleList = () =>
  list(
    str()
      .trim()
      .toLowerCase()
      .pipe(z.enum(ROLES, { error: `expected one of ${ROLES.join(', ')}` })),
  );

/**
 * One API key: `key` (hashed here, at load, and dropped) or `key_sha256`. Never shown back in an
 * error: a message names the entry by its id.
 */
export const apiKeyEntry = z
  .object({
    id: str().regex(/^[A-Za-z0-9._:@-]{1,128}$/, 'expected 1–128 letters, digits or . _ : @ -'),
    key: z.string({ error: 'expected a string (quote it in YAML)' }).optional(),
    key_sha256: str()
      .regex(/^[0-9a-fA-F]{64}$/, 'expected the 64 hex digits of a SHA-256 digest (openhqm keys create prints it)')
      .optional(),
    tenant: tenantName().nullable().default(null),
    roles: roleList()
      .refine((r) => r.length > 0, 'at least one role')
      .default(['submit']),
  })
  .strict()
  .superRefine((e, ctx) => {
    if ((e.key === undefined) === (e.key_sha256 === undefined)) ctx.addIssue({ code: 'custom', path: ['key_sha256'], message: 'set exactly one of key and key_sha256' });
    // Checked without quoting the value: this message may be printed or logged.
    if (e.key !== undefined && e.key.trim().length < 16) ctx.addIssue({ code: 'custom', path: ['key'], message: 'too short: use at least 16 characters (openhqm keys create makes one)' });
    if (e.tenant === null && !e.roles.includes('admin')) ctx.addIssue({ code: 'custom', path: ['tenant'], message: 'required unless the key has the admin role' });
  })
  .transform((e) => ({
    id: e.id,
    key_sha256: e.key_sha256?.toLowerCase() ?? createHash('sha256').update((e.key ?? '').trim(), 'utf8').digest('hex'),
    tenant: e.tenant,
    roles: [...new Set(e.roles)],
  }));

export type ApiKeyConfig = z.output<typeof apiKeyEntry>;

/** A list of keys, checked for ids and keys used twice. */
export const apiKeyList = z.array(apiKeyEntry).superRefine((keys, ctx) => {
  const ids = new Set<string>();
  const digests = new Set<string>();
  keys.forEach((k, i) => {
    if (ids.has(k.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `id ${k.id} is used twice` });
    if (digests.has(k.key_sha256)) ctx.addIssue({ code: 'custom', path: [i], message: `key ${k.id} is the same key as an earlier entry` });
    ids.add(k.id);
    digests.add(k.key_sha256);
  });
});

const jwt = z
  .object({
    /** Key set URL (https); fetched on first use, refreshed in the background and on an unknown kid. */
    jwks_url: optionalStr(),
    /** A public key or certificate (PEM); usually given as public_key_file. */
    public_key: optionalStr(),
    /** Shared secret for HS256/384/512 (secret); usually given as secret_file. */
    secret: secretStr(),
    issuer: optionalStr(),
    /** Accepted audiences; empty: aud is not checked. */
    audience: list(str().min(1)).default([]),
    /** Accepted algorithms; empty: all of the key's family (HS* for a secret, RS/PS/ES/EdDSA for a public key or JWKS). */
    algorithms: list(str().trim()).default([]),
    clock_skew_seconds: int().pipe(z.number().min(0).max(3600)).default(30),
    tenant_claim: str().min(1).default('tenant'),
    roles_claim: str().min(1).default('roles'),
    jwks_refresh_seconds: int().pipe(z.number().min(1)).default(600),
    jwks_cooldown_seconds: num().pipe(z.number().min(0)).default(30),
    jwks_timeout_ms: int().pipe(z.number().min(100)).default(5000),
  })
  .strict()
  .superRefine((j, ctx) => {
    const sources = (['jwks_url', 'public_key', 'secret'] as const).filter((k) => j[k] !== null);
    if (sources.length > 1) ctx.addIssue({ code: 'custom', path: [sources[1] as string], message: `set one of jwks_url, public_key and secret, not ${sources.join(' and ')}` });
    const kind = sources[0];
    if (kind === undefined) {
      if (j.issuer !== null || j.audience.length > 0 || j.algorithms.length > 0) ctx.addIssue({ code: 'custom', path: ['jwks_url'], message: 'JWT settings are given without a key: set jwks_url, public_key or secret' });
      return;
    }
    const { refused } = allowedAlgorithms(kind === 'jwks_url' ? 'jwks' : kind, j.algorithms);
    if (refused.length > 0) {
      const why = kind === 'secret' ? 'a shared secret verifies only HS256, HS384 and HS512' : 'a public key or JWKS verifies only RS*, PS*, ES* and EdDSA (never HS*, never none)';
      ctx.addIssue({ code: 'custom', path: ['algorithms'], message: `${refused.join(', ')} cannot be used: ${why}` });
    }
    if (kind === 'jwks_url' && !isHttpUrl(j.jwks_url ?? '')) ctx.addIssue({ code: 'custom', path: ['jwks_url'], message: 'expected an http(s) URL' });
    if (kind === 'secret' && (j.secret ?? '').length < 32) ctx.addIssue({ code: 'custom', path: ['secret'], message: 'too short for HMAC: use at least 32 characters' });
    if (kind === 'public_key' && !isPublicKeyPem(j.public_key ?? '')) ctx.addIssue({ code: 'custom', path: ['public_key'], message: 'expected a public key or certificate in PEM (-----BEGIN PUBLIC KEY----- …)' });
  });

function isPublicKeyPem(pem: string): boolean {
  // createPublicKey would derive one from a private key, which has no business in this setting.
  if (pem.includes('PRIVATE KEY')) return false;
  try {
    return createPublicKey(pem).type === 'public';
  } catch {
    return false;
  }
}

const auth = z
  .object({
    /** Require a credential (API key or JWT) on every route but /health/live and /health/ready. */
    enabled: bool().default(false),
    api_keys: structured(apiKeyList).default([]),
    /** A YAML or JSON list of keys (same entries), re-read when it changes. */
    api_keys_file: optionalStr(),
    /** How often api_keys_file is checked for changes; 0: read once at start-up. */
    api_keys_reload_seconds: num().pipe(z.number().min(0)).default(5),
    jwt: jwt.prefault({}),
    /** Header that tells upstreams the tenant of a forwarded request (a client's own is replaced); "" for none. */
    tenant_header: str()
      .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]*$/, 'expected an HTTP header name')
      .default('X-OpenHQM-Tenant'),
    /**
     * Tenants known in advance: each gets its own label in the per-tenant metrics (tenants that hold a key do too).
     * A list of names, or a mapping of name to its limits (see tenantLimits).
     */
    tenants: tenantMap(),
    /** Limits of tenants not named in auth.tenants (and of those that leave a limit out). */
    default_tenant: tenantLimits(null).prefault({}),
  })
  .strict();

/**
 * delivery.webhooks.secret: one `whsec_<base64>` key, or several during a rotation (the current
 * one first; each signs). A list, or text with the keys separated by commas or white space (the
 * environment, a `secret_file`). Never repeated in an error message.
 */
const webhookSecrets = () =>
  z
    .preprocess(
      (value) => (typeof value === 'string' ? value.split(/[\s,]+/).filter((s) => s !== '') : value ?? []),
      z.array(z.string({ error: 'expected a whsec_ key (quote it in YAML)' }), { error: 'expected a whsec_ key or a list of them' }),
    )
    .superRefine((secrets, ctx) => {
      secrets.forEach((secret, i) => {
        const bytes = /^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret) ? Buffer.from(secret.slice('whsec_'.length), 'base64').length : 0;
        if (bytes < 24 || bytes > 64) ctx.addIssue({ code: 'custom', path: [i], message: 'expected whsec_ followed by 24 to 64 bytes in base64 (openssl rand -base64 32)' });
      });
    })
    .default([]);

const webhooks = z
  .object({
    /** Signing keys (Standard Webhooks); no key: webhooks are off and a callback_url is refused at submit. */
    secret: webhookSecrets(),
    /** Where the webhooks of requests without metadata.callback_url go; null: only requests that name one get one. */
    default_url: optionalStr().refine((v) => v === null || isHttpUrl(v), 'expected an http(s) URL'),
    /** Attempts in all, the first included. */
    max_attempts: int().pipe(z.number().min(1).max(100)).default(18),
    /** First retry delay; each next one doubles, up to retry_max_seconds (minus up to a fifth of jitter). */
    retry_base_seconds: num().pipe(z.number().min(0)).default(5),
    retry_max_seconds: num().pipe(z.number().min(0)).default(21_600),
    /** Seconds one attempt may take, answer included. */
    timeout_seconds: num().pipe(z.number().gt(0).max(300)).default(10),
    /** Largest body sent; a larger one leaves the result out (result_omitted: true). */
    max_body_bytes: int().pipe(z.number().min(1024)).default(256 * 1024),
    /** Webhooks sent at once by one worker process. */
    concurrency: int().pipe(z.number().min(1).max(1000)).default(10),
    /** Let webhooks reach loopback, private, link-local and unique-local addresses (internal receivers). */
    allow_private: bool().default(false),
    /** Host names (exact, or *.suffix) whose webhooks may reach internal addresses. */
    allowed_hosts: list(str().min(1)).default([]),
  })
  .strict()
  .refine((w) => w.retry_max_seconds >= w.retry_base_seconds, { path: ['retry_max_seconds'], message: 'must be at least delivery.webhooks.retry_base_seconds' });

const delivery = z
  .object({
    webhooks: webhooks.prefault({}),
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
    postgres: postgres.prefault({}),
    nats: nats.prefault({}),
    kafka: kafka.prefault({}),
    azure_eventhubs: azureEventhubs.prefault({}),
    rabbitmq: rabbitmq.prefault({}),
    gcp_pubsub: gcpPubsub.prefault({}),
    worker: worker.prefault({}),
    monitoring: monitoring.prefault({}),
    proxy: proxy.prefault({}),
    routing: routing.prefault({}),
    partitioning: partitioning.prefault({}),
    auth: auth.prefault({}),
    analytics: analytics.prefault({}),
    queues: queueMap(),
    delivery: delivery.prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    for (const section of ['queue', 'cache'] as const) {
      if (config[section].type === 'custom' && config[section].custom_module.trim() === '') {
        ctx.addIssue({ code: 'custom', path: [section, 'custom_module'], message: `required when ${section}.type is custom: the module that exports the backend's factory` });
      }
    }
    const p = config.proxy;
    const target = p.default_endpoint;
    if (target !== null && !Object.hasOwn(p.endpoints, target) && !isHttpUrl(target)) {
      ctx.addIssue({ code: 'custom', path: ['proxy', 'default_endpoint'], message: `"${target}" is neither an http(s) URL nor a name in proxy.endpoints (${Object.keys(p.endpoints).join(', ') || 'none configured'})` });
    }
    if (p.capture.enabled && target === null) {
      ctx.addIssue({ code: 'custom', path: ['proxy', 'default_endpoint'], message: 'required when proxy.capture.enabled: captured requests go to the default endpoint' });
    }
    if (p.enabled && config.worker.processor_module !== null) {
      ctx.addIssue({ code: 'custom', path: ['worker', 'processor_module'], message: 'cannot be combined with proxy.enabled: requests are either forwarded or processed by the module' });
    }
    for (const section of ['queue', 'cache'] as const) {
      const url = config[section].redis_url;
      // Without cluster mode only the first URL of a list would be used, the rest silently ignored.
      const problem = config.redis.cluster ? clusterDatabaseProblem(url) : url.includes(',') ? 'a list of URLs is for a Redis Cluster: set redis.cluster: true, or give one URL' : undefined;
      if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [section, 'redis_url'], message: problem });
    }
    const r = config.routing;
    if (r.enabled && r.config_path === null && r.config_dict === null) {
      ctx.addIssue({ code: 'custom', path: ['routing', 'config_path'], message: 'routing.enabled needs routing.config_path or routing.config_dict' });
    }
    if (r.enabled && !p.enabled) {
      ctx.addIssue({ code: 'custom', path: ['proxy', 'enabled'], message: 'must be true when routing.enabled: routes decide where the proxy sends a request' });
    }
    if (p.capture.enabled && !p.enabled) {
      ctx.addIssue({ code: 'custom', path: ['proxy', 'enabled'], message: 'must be true when proxy.capture.enabled' });
    }
    const a = config.auth;
    if (a.enabled && a.api_keys.length === 0 && a.api_keys_file === null && a.jwt.jwks_url === null && a.jwt.public_key === null && a.jwt.secret === null) {
      ctx.addIssue({ code: 'custom', path: ['auth', 'enabled'], message: 'no credential could ever pass: configure auth.api_keys, auth.api_keys_file or auth.jwt' });
    }
    checkQueues(config.queues, config.worker, ctx);
    if (p.capture.require_auth && !a.enabled) {
      ctx.addIssue({ code: 'custom', path: ['proxy', 'capture', 'require_auth'], message: 'needs auth.enabled: there is no credential to require' });
    }
  });

/** worker.queues names declared queues; an override's retry base fits under the worker's retry maximum. */
function checkQueues(
  queues: Readonly<Record<string, { retry_delay_base: number | null }>>,
  worker: { queues: readonly string[]; retry_delay_max: number },
  ctx: z.RefinementCtx,
): void {
  const known = ['default', ...Object.keys(queues).filter((n) => n !== 'default')];
  worker.queues.forEach((name, i) => {
    if (!known.includes(name)) ctx.addIssue({ code: 'custom', path: ['worker', 'queues', i], message: `unknown queue "${name}" (known: ${known.join(', ')})` });
  });
  for (const [name, q] of Object.entries(queues)) {
    if (RESERVED_QUEUE_NAMES.includes(name)) ctx.addIssue({ code: 'custom', path: ['queues', name], message: `"${name}" is the gateway's own queue; choose another name` });
    if (q.retry_delay_base !== null && q.retry_delay_base > worker.retry_delay_max) {
      ctx.addIssue({ code: 'custom', path: ['queues', name, 'retry_delay_base'], message: 'must be at most worker.retry_delay_max' });
    }
  }
}

export type Config = z.output<typeof configSchema>;

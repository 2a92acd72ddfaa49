/**
 * QueueBackend: the port every queue adapter implements. The contract, which
 * src/conformance/queue-backend.ts checks against each adapter on a real server:
 *
 * - **At-least-once.** A published message is delivered until one delivery of it is settled
 *   (ack, retry, release or deadLetter). A delivery not settled within the visibility timeout
 *   (extendable with `extend`) becomes visible again and is redelivered with `attempt + 1`.
 * - **One holder at a time.** While a delivery is in flight and its visibility has not lapsed,
 *   no other consumer receives that message.
 * - **Stale settles are harmless.** Settling a delivery whose visibility lapsed and whose
 *   message was redelivered never settles the newer delivery.
 * - **Order.** With `capabilities.priority`, higher priority (0–9) first; FIFO within a
 *   priority where `capabilities.fifo` holds.
 * - **Per-key order.** With `capabilities.partitionOrdering`, messages that share a
 *   `partitionKey` are delivered one at a time in publish order: the next one only after the
 *   previous is acked or dead-lettered (a retried or released message keeps its place at the
 *   head). Messages without a key, or with different keys, are not held back.
 * - **Attempts** count deliveries: the first delivery is attempt 1; `retry` and a lapsed
 *   visibility add one; `release` gives the message back without counting the attempt.
 * - `publish` resolves only when the message is durable (as durable as the backend is).
 *
 * Adapters translate driver errors into `HqmError` (`HQM_ERR_BACKEND_UNAVAILABLE` when the
 * server cannot be reached) at their boundary.
 *
 * @module
 */
import type { HealthReport } from './health.js';
import type { MethodNames, RequiredKeys } from './members.js';

/**
 * What a backend really does, with values (D132): the worker, the start-up check
 * (app/backends.ts) and the conformance suite read these rather than assume one broker's
 * semantics. The booleans of QueueCapabilities below stay as the summary older code reads.
 */
export interface QueueCapabilityValues {
  /** Longest delay one publish, retry or release can carry, and the step it is honoured in; null: no delays. A longer delay is chained (D132). */
  readonly delays: { readonly maxMs: number; readonly granularityMs: number } | null;
  /** The per-message lease (visibility timeout) the backend can hold and extend; null: none (session-held messages). */
  readonly lease: { readonly minMs: number; readonly maxMs: number; readonly granularityMs: number } | null;
  /** What brings an unsettled message back: its lease lapsing, the consumer's session ending, or nothing. */
  readonly redelivery: 'lease' | 'session' | 'none';
  /** What `deliveryCount` counts: deliveries (a release gives one back), every delivery including releases, or nothing (always 1). */
  readonly deliveryCounting: 'deliveries' | 'every-delivery' | 'none';
  /** Whether a settle from a lapsed delivery is harmless (never settles a newer delivery or other messages). */
  readonly staleSettles: 'harmless' | 'unsafe';
  /** How priorities 0–9 are honoured. */
  readonly priorities: 'strict' | 'approximate' | 'none';
  /** Which order is kept: per partition key (one in flight per key), per broker partition, or none. */
  readonly ordering: 'per-key' | 'per-partition' | 'none';
  /** How `stats` counts. */
  readonly stats: 'exact' | 'approximate' | 'none';
  /** Whether dead letters can be listed, read, removed and replayed by id. */
  readonly deadLetterBrowsing: boolean;
  /**
   * At-least-once (absent): a message is kept until a consumer settles it. At-most-once (MQTT
   * direct, D274): only consumers subscribed when it is published receive it, and a message a
   * dead consumer held is gone; the start-up refuses such a backend unless its configuration
   * says the deployment accepts that.
   */
  readonly delivery?: 'at-least-once' | 'at-most-once';
}

export interface QueueCapabilities extends QueueCapabilityValues {
  /** Messages can be published (or retried) with a delay. */
  readonly delay: boolean;
  /** Priorities 0–9 are honoured (higher first). */
  readonly priority: boolean;
  /** Messages of equal priority are delivered in publish order (single consumer). */
  readonly fifo: boolean;
  /** Largest message body (UTF-8 bytes) the backend accepts. */
  readonly maxMessageBytes: number;
  /** Messages survive a restart of the process (and of the server where there is one). */
  readonly durable: boolean;
  /** Several processes can share one queue (false for in-process backends). */
  readonly shared: boolean;
  /** Messages with the same partition key are delivered one at a time, in order (see above). */
  readonly partitionOrdering: boolean;
}

export interface OutboundMessage {
  readonly body: string;
  /** 0–9, higher first. Ignored without `capabilities.priority`. */
  readonly priority?: number;
  /** Deliver no earlier than this many milliseconds from now. */
  readonly delayMs?: number;
  readonly partitionKey?: string | null;
}

export interface PublishReceipt {
  readonly messageId: string;
}

export interface Delivery {
  /** The message's id, the same on every delivery of it: across retry, release and redelivery (the suite asserts it). */
  readonly messageId: string;
  readonly body: string;
  /**
   * How many times the broker says it delivered the message: 1 for the first delivery; see the
   * contract above. A hint only (D130): brokers count differently (some count every release,
   * some miss redeliveries after a rebalance or a session loss), so the worker's attempt comes
   * from the result store's claim, never from this.
   */
  readonly deliveryCount: number;
  readonly priority: number;
  readonly partitionKey: string | null;
  /** When the message was first published (epoch ms), the same on every delivery of it (ids of outside producers' messages derive from it). */
  readonly enqueuedAt: number;
  /** Done: the message is removed. */
  ack(): Promise<void>;
  /** Failed this attempt: deliver again after `delayMs`, counting a new attempt. */
  retry(delayMs: number): Promise<void>;
  /** Not processed (shutdown, a dependency not ready): deliver again after `delayMs` (default 0), without counting this attempt. */
  release(delayMs?: number): Promise<void>;
  /** Give up: move the message to the dead-letter store with the reason. */
  deadLetter(reason: string): Promise<void>;
  /** Heartbeat: keep the message invisible to others for `ms` more from now. */
  extend(ms: number): Promise<void>;
}

export interface ConsumeOptions {
  /** Most deliveries handed to the handler at once. */
  readonly concurrency: number;
  readonly visibilityTimeoutMs: number;
  /**
   * A further limit that changes while the subscription runs (a worker sharing its slots among
   * named queues, D106): the consumer holds no more than `min(concurrency, gate.limit())`
   * undelivered-to-settled deliveries, reading `limit()` before each fetch, and looks again when
   * the gate calls the `wake` it registered. A hint against hoarding messages other processes
   * could run: the handler still enforces its own limits, so an adapter that ignores it is correct.
   */
  readonly gate?: ConsumeGate;
}

export interface ConsumeGate {
  limit(): number;
  /** Registers the consumer's wake-up, called when `limit()` may have grown; returns the unregister. */
  onRaise(wake: () => void): () => void;
}

/** Called once per delivery; resolves when the delivery is settled (or abandoned). */
export type DeliveryHandler = (delivery: Delivery) => Promise<void>;

export interface Subscription {
  /**
   * Stop taking messages. Resolves once no new handler call will start; deliveries already
   * handed out stay the handler's to settle.
   */
  stop(): Promise<void>;
}

export interface QueueStats {
  /** Waiting messages: ready now plus delayed. */
  readonly depth: number;
  /** Of `depth`, those not yet due. */
  readonly delayed: number;
  /** Delivered and not yet settled. */
  readonly inFlight: number;
  readonly deadLettered: number;
  /**
   * When the message that has waited longest for a consumer became ready (epoch ms): when it was
   * published, or came due after a delay or retry, or its lease lapsed. Null when none is ready;
   * undefined when the backend cannot tell (reported as unknown). Times of a server are its clock's.
   */
  readonly oldestReadyAt?: number | null;
}

export interface DeadLetter {
  /**
   * The dead letter's own id in its queue's dead-letter store, unique within the queue and
   * growing with time (a later dead letter has a later id); `getDeadLetter`,
   * `removeDeadLetter` and `replayDeadLetter` take it. Not the message id, which a backend may
   * repeat across priority bands.
   */
  readonly id: string;
  readonly messageId: string;
  readonly body: string;
  readonly attempts: number;
  readonly reason: string;
  readonly deadLetteredAt: number;
}

/** One page of `browseDeadLetters`, newest first. */
export interface DeadLetterPage {
  readonly letters: readonly DeadLetter[];
  /** The id to pass as `before` for the next, older page; null when this page holds the oldest. */
  readonly next: string | null;
}

export interface QueueBackend {
  /** The `queue.type` name that selected this adapter. */
  readonly type: string;
  readonly capabilities: QueueCapabilities;
  publish(queue: string, message: OutboundMessage): Promise<PublishReceipt>;
  consume(queue: string, options: ConsumeOptions, handler: DeliveryHandler): Subscription;
  stats(queue: string): Promise<QueueStats>;
  /** Most recent dead letters first. */
  deadLetters(queue: string, options: { limit: number }): Promise<readonly DeadLetter[]>;
  /**
   * Dead letters newest first, `limit` at a time, only those older than the dead letter `before`
   * (an id from an earlier page; it need not still exist). A malformed `before` is an
   * `HQM_ERR_VALIDATION`. Dead letters past their retention are never shown.
   */
  browseDeadLetters(queue: string, options: { limit: number; before?: string }): Promise<DeadLetterPage>;
  /** One dead letter; undefined when unknown, malformed, removed or past its retention. */
  getDeadLetter(queue: string, id: string): Promise<DeadLetter | undefined>;
  /** Removes one dead letter; false when it was not there. */
  removeDeadLetter(queue: string, id: string): Promise<boolean>;
  /** Removes every dead letter of `queue` dead-lettered before `before` (epoch ms, by the clock that dated it: Redis dates its entries itself); resolves to how many. */
  purgeDeadLetters(queue: string, before: number): Promise<number>;
  /**
   * Replay: in one atomic step, removes the dead letter and publishes `message` to `queue`
   * (as `publish` would). Undefined, with nothing published, when the dead letter is not there
   * (already replayed or removed): of two concurrent replays of one dead letter exactly one
   * publishes, so a replay never puts a second live message of a request in the queue.
   */
  replayDeadLetter(queue: string, id: string, message: OutboundMessage): Promise<PublishReceipt | undefined>;
  health(): Promise<HealthReport>;
  /**
   * A random secret (at least 256 bits, hex) made the first time any process asks and kept in
   * the backend, so every process sharing the queue gets the same one; an in-process backend
   * keeps it for its own life. The worker keys the ids of outside producers' messages with it
   * (D56), unless `queue.id_secret` is configured.
   */
  deploymentSecret(): Promise<string>;
  /** Stops every subscription and frees the connection. Idempotent. */
  close(): Promise<void>;
}

/** Every method of QueueBackend, which a custom backend's object must have (D280); the compiler keeps the list whole. */
export const QUEUE_BACKEND_METHODS = Object.keys({
  publish: 0,
  consume: 0,
  stats: 0,
  deadLetters: 0,
  browseDeadLetters: 0,
  getDeadLetter: 0,
  removeDeadLetter: 0,
  purgeDeadLetters: 0,
  replayDeadLetter: 0,
  health: 0,
  deploymentSecret: 0,
  close: 0,
} satisfies Record<MethodNames<QueueBackend>, 0>) as ReadonlyArray<MethodNames<QueueBackend>>;

/** Every required key of QueueCapabilities: the start-up checks read them all, so a custom backend must declare each (an optional one, `delivery`, has its default). */
export const QUEUE_CAPABILITY_KEYS = Object.keys({
  delays: 0,
  lease: 0,
  redelivery: 0,
  deliveryCounting: 0,
  staleSettles: 0,
  priorities: 0,
  ordering: 0,
  stats: 0,
  deadLetterBrowsing: 0,
  delay: 0,
  priority: 0,
  fifo: 0,
  maxMessageBytes: 0,
  durable: 0,
  shared: 0,
  partitionOrdering: 0,
} satisfies Record<RequiredKeys<QueueCapabilities>, 0>) as ReadonlyArray<RequiredKeys<QueueCapabilities>>;

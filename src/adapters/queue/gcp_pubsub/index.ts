/**
 * `queue.type: gcp_pubsub` — Google Cloud Pub/Sub (D250–D259). Each OpenHQM queue is a topic with
 * one subscription all workers share, and a dead-letter topic with a subscription that keeps its
 * messages for listing (names.ts). Workers pull with unary calls sized to their free slots (D250);
 * a message's ack deadline is its lease (10–600 s, renewed by extend); delays and retries are
 * modAcks (at most 600 s each; a delayed publish longer than that is parked again until due,
 * D251); a partition key is an ordering key when `gcp_pubsub.ordering` is on (D254).
 *
 * What Pub/Sub does not do is said in the capabilities: no priorities, no order without
 * ordering keys, no delivery count (the store's claim counts), and no depth (Pub/Sub reports it
 * only through Cloud Monitoring): stats count this process's own in-flight and parked messages.
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
import { deadLetterBounds } from '../../shared/dead-letters.js';
import { assertSize, clampPriority } from '../../shared/messages.js';
import { parseOptions } from '../../shared/options.js';
import { PubSubClient } from './client.js';
import { pubsubQueueOptionsSchema, type PubSubQueueOptions } from './config.js';
import { PubSubSubscription, type ConsumerHost } from './consumer.js';
import { DeadLetterReader } from './dead-letters.js';
import { LONGEST_DEADLINE_S, type PubSubDelivery } from './delivery.js';
import { GRPC, grpcCode } from './errors.js';
import { secretTopic } from './names.js';
import { A, messageAttributes, UNKEYED } from './wire.js';

/** health() asks the server at most this often; between, it answers from the last probe. */
const HEALTH_PROBE_MS = 1000;

export const factory: QueueBackendFactory = {
  type: 'gcp_pubsub',
  async create(raw, context: AdapterContext) {
    const options = parseOptions(pubsubQueueOptionsSchema, raw, 'gcp_pubsub');
    const logger = context.logger.child({ component: 'queue', backend: 'gcp_pubsub' });
    const client = await PubSubClient.open(options, logger);
    return new PubSubQueue(client, options, logger);
  },
};

export class PubSubQueue implements QueueBackend {
  readonly type = 'gcp_pubsub';
  readonly capabilities: QueueCapabilities;
  readonly #subscriptions = new Set<PubSubSubscription>();
  readonly #inFlight = new Map<string, Set<PubSubDelivery>>();
  readonly #parked = new Map<string, Map<string, number>>();
  readonly #deadLetters: DeadLetterReader;
  readonly #host: ConsumerHost;
  #probe: { at: number; report: Promise<HealthReport> } | undefined;
  /** The last dead-letter time written: strictly growing, so dead letters of one process keep their order. */
  #lastDeadAt = 0;
  #secret: Promise<string> | undefined;
  #closed = false;

  constructor(
    private readonly client: PubSubClient,
    private readonly options: PubSubQueueOptions,
    logger: Logger,
  ) {
    this.#deadLetters = new DeadLetterReader(client, deadLetterBounds(options));
    const ordered = options.ordering;
    this.capabilities = {
      delay: true,
      priority: false,
      fifo: false,
      maxMessageBytes: options.max_message_bytes,
      durable: true,
      shared: true,
      partitionOrdering: ordered,
      delays: { maxMs: LONGEST_DEADLINE_S * 1000, granularityMs: 1000 },
      // Ack deadlines from 10 s (the shortest a subscription takes) to 600 s. Declared in steps of
      // 10 s, the shortest lease, though any whole second above it is honoured: what waits on a
      // lapse (the conformance suite, an operator) then waits in the steps a lapse really takes (D252).
      lease: { minMs: 10_000, maxMs: LONGEST_DEADLINE_S * 1000, granularityMs: 10_000 },
      redelivery: 'lease',
      deliveryCounting: 'none',
      // A settle is never sent after this process's deadline, but one sent just before it may reach
      // the service after a redelivery: that it is then ignored held on the emulator only (D253).
      staleSettles: 'unsafe',
      priorities: 'none',
      ordering: ordered ? 'per-key' : 'none',
      stats: 'approximate',
      deadLetterBrowsing: false,
    };
    this.#host = {
      client,
      logger,
      maxMessages: options.gcp_max_messages,
      ordered,
      bury: (delivery, reason) => this.#bury(delivery, reason),
      track: (queue, delivery) => this.#held(queue).add(delivery),
      park: (queue, messageId, until) => {
        let parked = this.#parked.get(queue);
        if (parked === undefined) this.#parked.set(queue, (parked = new Map<string, number>()));
        parked.set(messageId, until);
      },
    };
  }

  async publish(queue: string, message: OutboundMessage): Promise<PublishReceipt> {
    this.#assertOpen();
    assertSize(message.body, this.capabilities.maxMessageBytes);
    const delayMs = message.delayMs ?? 0;
    const attributes = messageAttributes(clampPriority(message.priority), message.partitionKey ?? null, delayMs > 0 ? Date.now() + Math.ceil(delayMs) : 0);
    const outgoing = { data: Buffer.from(message.body, 'utf8'), attributes, orderingKey: this.options.ordering ? (message.partitionKey ?? `${UNKEYED}${randomUUID()}`) : '' };
    for (let tries = 1; ; tries += 1) {
      const names = await this.client.declare(queue);
      try {
        const [messageId] = await this.client.publish(names.topic, [outgoing]);
        return { messageId: messageId ?? '' };
      } catch (error) {
        // A topic deleted under us: created again, once.
        if (grpcCode((error as { cause?: unknown }).cause) !== GRPC.NOT_FOUND || tries >= 2) throw error;
        this.client.forget(queue);
      }
    }
  }

  consume(queue: string, options: ConsumeOptions, handler: DeliveryHandler): Subscription {
    this.#assertOpen();
    const subscription = new PubSubSubscription(this.#host, queue, options, handler);
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async stats(queue: string): Promise<QueueStats> {
    this.#assertOpen();
    const now = Date.now();
    const held = this.#held(queue);
    for (const delivery of held) if (!delivery.held) held.delete(delivery);
    const parked = this.#parked.get(queue) ?? new Map<string, number>();
    for (const [id, until] of parked) if (until <= now) parked.delete(id);
    const deadLettered = (await this.#deadLetters.read(queue)).length;
    // Pub/Sub tells the backlog only to Cloud Monitoring: what waits unseen is not counted.
    return { depth: parked.size, delayed: parked.size, inFlight: held.size, deadLettered, oldestReadyAt: undefined };
  }

  async deadLetters(queue: string, options: { limit: number }): Promise<readonly DeadLetter[]> {
    this.#assertOpen();
    return (await this.#deadLetters.read(queue)).slice(0, options.limit);
  }

  async browseDeadLetters(queue: string, options: { limit: number; before?: string }): Promise<DeadLetterPage> {
    this.#assertOpen();
    const all = await this.#deadLetters.read(queue);
    const start = options.before === undefined ? 0 : all.findIndex((d) => d.id === options.before) + 1;
    if (options.before !== undefined && start === 0) throw new HqmError('HQM_ERR_VALIDATION', `"${options.before}" is not a dead-letter id of the Pub/Sub queue`);
    const letters = all.slice(start, start + options.limit);
    return { letters, next: start + options.limit < all.length ? (letters.at(-1)?.id ?? null) : null };
  }

  async getDeadLetter(queue: string, id: string): Promise<DeadLetter | undefined> {
    this.#assertOpen();
    return (await this.#deadLetters.read(queue)).find((d) => d.id === id);
  }

  removeDeadLetter(): Promise<boolean> {
    return Promise.reject(unsupported('removed one by one'));
  }

  purgeDeadLetters(): Promise<number> {
    return Promise.reject(unsupported('purged'));
  }

  replayDeadLetter(): Promise<PublishReceipt | undefined> {
    return Promise.reject(unsupported('replayed one by one'));
  }

  /** Asks the server (at most once a second) and every subscription whether its pulls succeed. */
  async health(): Promise<HealthReport> {
    if (this.#closed) return { ok: false, detail: 'closed' };
    const now = Date.now();
    if (this.#probe === undefined || now - this.#probe.at >= HEALTH_PROBE_MS) {
      const timeout = Math.min(this.options.request_timeout_ms, 2000);
      this.#probe = {
        at: now,
        report: this.client.probe(timeout).then(
          (): HealthReport => ({ ok: true }),
          (error: unknown): HealthReport => ({ ok: false, detail: error instanceof Error ? error.message : String(error) }),
        ),
      };
    }
    const report = await this.#probe.report;
    if (!report.ok) return report;
    // Reachable but not consuming (pulls refused, a subscription that cannot be created): a
    // worker that looks alive and takes nothing is not ready.
    for (const subscription of this.#subscriptions) {
      if (!subscription.stopped && !subscription.consuming) return { ok: false, detail: `not consuming ${subscription.queue}${subscription.lastError === undefined ? '' : `: ${subscription.lastError}`}` };
    }
    return { ok: true };
  }

  /**
   * Kept in the labels of a topic (`<prefix>secret`): creating a topic is atomic, so of processes
   * that race, the first one's labels win and everyone reads those. A label value holds at most
   * 63 characters, so the 64 hex digits are two labels.
   */
  deploymentSecret(): Promise<string> {
    this.#assertOpen();
    this.#secret ??= (async () => {
      const candidate = randomBytes(32).toString('hex');
      const labels = await this.client.labelledTopic(secretTopic(this.client.project, this.options.prefix), { secret_a: candidate.slice(0, 32), secret_b: candidate.slice(32) });
      const secret = `${labels.secret_a ?? ''}${labels.secret_b ?? ''}`;
      if (!/^[0-9a-f]{64}$/.test(secret)) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the deployment-secret topic carries no secret in its labels');
      return secret;
    })();
    this.#secret.catch(() => (this.#secret = undefined));
    return this.#secret;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
    this.#subscriptions.clear();
    await this.client.close();
  }

  async #bury(delivery: PubSubDelivery, reason: string): Promise<void> {
    const names = await this.client.declareDead(delivery.queue);
    this.#lastDeadAt = Math.max(Date.now(), this.#lastDeadAt + 1);
    await this.client.publish(
      names.deadTopic,
      [
        {
          data: delivery.pulled.data,
          attributes: {
            ...delivery.pulled.attributes,
            [A.reason]: reason.slice(0, 1000),
            [A.attempts]: String(delivery.deliveryCount),
            [A.deadAt]: String(this.#lastDeadAt),
            [A.messageId]: delivery.messageId,
          },
        },
      ],
      'writing a dead letter',
    );
  }

  #held(queue: string): Set<PubSubDelivery> {
    let held = this.#inFlight.get(queue);
    if (held === undefined) this.#inFlight.set(queue, (held = new Set()));
    return held;
  }

  #assertOpen(): void {
    if (this.#closed) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the Pub/Sub queue is closed', { retryable: false });
  }
}

function unsupported(what: string): HqmError {
  return new HqmError('HQM_ERR_UNSUPPORTED', `dead letters of the gcp_pubsub queue are messages of a topic: listed and read, not ${what}`);
}

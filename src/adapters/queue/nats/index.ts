/**
 * `queue.type: nats` — NATS JetStream. Each queue is a work-queue stream with a subject per
 * priority band (consumed highest first, see consumer.ts) and a `delayed` subject (mover.ts);
 * durable pull consumers shared by every process; AckWait with `+WPI` renewals as the lease;
 * `-NAK` with a delay for retries and hand-backs; a dead-letter stream per queue; a publish
 * de-duplicated by a message id when it is retried after a lost answer. The result store's claim
 * is the authority on attempts and on who runs a request (D130), which makes the two things NATS
 * does not offer harmless: every delivery (a hand-back too) counts, and an acknowledgement from
 * a lapsed delivery settles the newer one (D233).
 *
 * @module
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { headers } from '@nats-io/transport-node';
import { StorageType } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
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
import { natsQueueOptionsSchema, type NatsQueueOptions } from './config.js';
import { NatsConsumer } from './consumer.js';
import { DeadLetterStream } from './dead-letters.js';
import { HEADER, NatsDelivery, type DeliveryContext } from './delivery.js';
import { NatsLink, unavailable } from './link.js';
import { Mover } from './mover.js';
import { BANDS, bandOf, queueNames, type Band } from './names.js';
import type { Pulled } from './pull.js';
import { QueueStreams } from './streams.js';

/** Room kept for headers (ours, a dead letter's reason) within the server's max_payload. */
const HEADER_ROOM = 4 * 1024;
/** The longest delay: a `-NAK` delay is a Go duration, so any; this is Node's longest timer, as the other backends. */
const LONGEST_DELAY_MS = 2_147_483_647;
const SECRET_KEY = 'deployment-secret';

export const factory: QueueBackendFactory = {
  type: 'nats',
  async create(raw, context: AdapterContext) {
    const options = parseOptions(natsQueueOptionsSchema, raw, 'nats');
    const logger = context.logger.child({ component: 'queue', backend: 'nats' });
    const link = await NatsLink.open(options, logger);
    return new NatsQueue(link, options, logger);
  },
};

interface QueueParts {
  readonly streams: QueueStreams;
  readonly dead: DeadLetterStream;
  readonly mover: Mover;
}

export class NatsQueue implements QueueBackend {
  readonly type = 'nats';
  readonly capabilities: QueueCapabilities;
  readonly #queues = new Map<string, QueueParts>();
  readonly #subscriptions = new Map<NatsConsumer, string>();
  /** Deliveries not yet settled: their renewals stop when the connection goes. */
  readonly #live = new Set<NatsDelivery>();
  readonly #bounds: DeadLetterBounds;
  #secret: Promise<string> | undefined;
  #closed = false;

  constructor(
    private readonly link: NatsLink,
    private readonly options: NatsQueueOptions,
    private readonly logger: Logger,
  ) {
    this.#bounds = deadLetterBounds(options);
    const serverMax = link.nc.info?.max_payload ?? 1024 * 1024;
    this.capabilities = {
      delay: true,
      priority: true,
      fifo: true,
      maxMessageBytes: Math.min(options.max_message_bytes, serverMax - HEADER_ROOM),
      durable: options.storage === 'file',
      shared: true,
      partitionOrdering: false,
      delays: { maxMs: LONGEST_DELAY_MS, granularityMs: 1 },
      // AckWait is per consumer; a longer lease per message is kept with +WPI renewals (delivery.ts).
      lease: { minMs: 1, maxMs: LONGEST_DELAY_MS, granularityMs: 1 },
      redelivery: 'lease',
      // The server counts every delivery, a -NAK hand-back too.
      deliveryCounting: 'every-delivery',
      // An acknowledgement from a lapsed delivery settles the newer one (verified on 2.9; D233).
      staleSettles: 'unsafe',
      // Three bands (0–3, 4–6, 7–9), highest first; FIFO within a band.
      priorities: 'approximate',
      ordering: 'none',
      // Consumer counts: a retry waiting out its delay is counted in flight, not delayed.
      stats: 'approximate',
      deadLetterBrowsing: true,
    };
  }

  #queue(queue: string): QueueParts {
    let parts = this.#queues.get(queue);
    if (parts === undefined) {
      const names = queueNames(this.options.stream_prefix, this.options.subject_prefix, queue);
      const log = this.logger.child({ queue });
      const streams = new QueueStreams(this.link, names, this.options, log);
      parts = { streams, dead: new DeadLetterStream(this.link, names, this.#bounds, this.options), mover: new Mover(this.link, streams, log) };
      this.#queues.set(queue, parts);
    }
    return parts;
  }

  async publish(queue: string, message: OutboundMessage): Promise<PublishReceipt> {
    this.#assertOpen();
    assertSize(message.body, this.capabilities.maxMessageBytes);
    const receipt = await this.#publish(queue, message, randomUUID());
    return { messageId: receipt.messageId };
  }

  /**
   * Publishes with a message id, so a publish repeated after a lost answer (a timeout while the
   * stream elected a leader) is stored once; `duplicate` says the stream had it already.
   */
  async #publish(queue: string, message: OutboundMessage, msgID: string): Promise<{ messageId: string; duplicate: boolean }> {
    const { streams } = this.#queue(queue);
    await streams.ready();
    const { names } = streams;
    const priority = clampPriority(message.priority);
    const delayMs = Math.max(0, Math.ceil(message.delayMs ?? 0));
    const meta = headers();
    if (priority > 0) meta.set(HEADER.priority, String(priority));
    if (message.partitionKey !== undefined && message.partitionKey !== null) meta.set(HEADER.key, message.partitionKey);
    if (delayMs > 0) meta.set(HEADER.due, String(Date.now() + delayMs));
    const subject = delayMs > 0 ? names.delayed : names.subject[bandOf(priority)];
    const send = () => this.link.js.publish(subject, message.body, { msgID, headers: meta, retries: 3 });
    let ack;
    try {
      ack = await this.link.call('publishing a message', send);
    } catch (error) {
      // A publish whose answer was lost may have been stored: the same id again is stored at most once.
      if (!this.link.connected) throw error;
      try {
        ack = await this.link.call('publishing a message', send);
      } catch (again) {
        // The stream may be gone (deleted by hand, a memory stream after a restart): created again next time.
        streams.invalidate();
        throw again;
      }
    }
    return { messageId: String(ack.seq), duplicate: ack.duplicate };
  }

  consume(queue: string, options: ConsumeOptions, handler: DeliveryHandler): Subscription {
    this.#assertOpen();
    const parts = this.#queue(queue);
    const releaseMover = parts.mover.use();
    const context = this.#deliveryContext(parts);
    const consumer: NatsConsumer = new NatsConsumer(
      {
        link: this.link,
        streams: parts.streams,
        logger: this.logger.child({ queue }),
        deliver: (pulled: Pulled, band: Band, leaseMs: number) => {
          const delivery = new NatsDelivery(pulled, band, leaseMs, context);
          this.#live.add(delivery);
          return delivery;
        },
      },
      options.concurrency,
      options.visibilityTimeoutMs,
      handler,
      () => {
        this.#subscriptions.delete(consumer);
        releaseMover();
      },
      options.gate,
    );
    this.#subscriptions.set(consumer, queue);
    return consumer;
  }

  #deliveryContext(parts: QueueParts): DeliveryContext {
    return {
      nc: this.link.nc,
      requestTimeoutMs: this.options.request_timeout_ms,
      ackWaitMs: () => parts.streams.ackWaitMs,
      bury: (delivery, reason) => parts.dead.bury(delivery, reason),
      done: (delivery) => this.#live.delete(delivery),
    };
  }

  async stats(queue: string): Promise<QueueStats> {
    this.#assertOpen();
    const { streams, dead } = this.#queue(queue);
    const [{ bands, delayed }, deadLettered] = await Promise.all([streams.counts(), this.link.call('reading queue stats', () => dead.count())]);
    const waiting = BANDS.reduce((sum, band) => sum + bands[band].num_pending, 0);
    const inFlight = BANDS.reduce((sum, band) => sum + bands[band].num_ack_pending, 0);
    const delayedCount = delayed.num_pending + delayed.num_ack_pending;
    return { depth: waiting + delayedCount, delayed: delayedCount, inFlight, deadLettered, oldestReadyAt: undefined };
  }

  async deadLetters(queue: string, options: { limit: number }): Promise<readonly DeadLetter[]> {
    return (await this.browseDeadLetters(queue, { limit: options.limit })).letters;
  }

  async browseDeadLetters(queue: string, options: { limit: number; before?: string }): Promise<DeadLetterPage> {
    this.#assertOpen();
    return this.#queue(queue).dead.page(options.limit, options.before);
  }

  async getDeadLetter(queue: string, id: string): Promise<DeadLetter | undefined> {
    this.#assertOpen();
    return this.#queue(queue).dead.get(id);
  }

  async removeDeadLetter(queue: string, id: string): Promise<boolean> {
    this.#assertOpen();
    return this.#queue(queue).dead.remove(id);
  }

  async purgeDeadLetters(queue: string, before: number): Promise<number> {
    this.#assertOpen();
    return this.#queue(queue).dead.purge(before);
  }

  /**
   * Publishes under a message id derived from the dead letter, then removes it: of two replays
   * at once the stream stores one message and tells the other it was a duplicate, so exactly one
   * reports a publish; a replay that finds the dead letter gone publishes nothing.
   */
  async replayDeadLetter(queue: string, id: string, message: OutboundMessage): Promise<PublishReceipt | undefined> {
    this.#assertOpen();
    assertSize(message.body, this.capabilities.maxMessageBytes);
    const { dead, streams } = this.#queue(queue);
    const letter = await dead.get(id);
    if (letter === undefined) return undefined;
    const published = await this.#publish(queue, message, `replay:${streams.names.deadStream}:${letter.id}:${letter.deadLetteredAt}`);
    await dead.remove(id);
    return published.duplicate ? undefined : { messageId: published.messageId };
  }

  async health(): Promise<HealthReport> {
    if (this.#closed) return { ok: false, detail: 'closed' };
    const report = await this.link.health();
    if (!report.ok) return report;
    // Connected and answering, yet a subscription gets no answers to its pulls: alive but not consuming.
    for (const [consumer, queue] of this.#subscriptions) {
      const silent = consumer.stalledFor();
      if (silent > 0) return { ok: false, detail: `the consumer of queue "${queue}" has had no answer from NATS for ${Math.round(silent / 1000)} s` };
    }
    return report;
  }

  /** Kept in a key-value bucket: the first process to write it wins, the others read its value. */
  deploymentSecret(): Promise<string> {
    this.#assertOpen();
    this.#secret ??= this.#readSecret().catch((error: unknown) => {
      this.#secret = undefined;
      throw error;
    });
    return this.#secret;
  }

  async #readSecret(): Promise<string> {
    return this.link.call('reading the deployment secret', async () => {
      const kv = await new Kvm(this.link.js).create(`${this.options.stream_prefix}_meta`, {
        history: 1,
        replicas: this.options.replicas,
        storage: this.options.storage === 'memory' ? StorageType.Memory : StorageType.File,
      });
      const existing = await kv.get(SECRET_KEY);
      if (existing !== null && existing.value.length > 0) return existing.string();
      const fresh = randomBytes(32).toString('hex');
      try {
        await kv.create(SECRET_KEY, fresh);
        return fresh;
      } catch {
        // Another process wrote it first.
        const stored = await kv.get(SECRET_KEY);
        if (stored === null || stored.value.length === 0) throw unavailable('reading the deployment secret (written and gone)');
        return stored.string();
      }
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions.keys()].map((s) => s.stop()));
    for (const parts of this.#queues.values()) parts.mover.stop();
    for (const delivery of this.#live) delivery.abandon();
    await this.link.close();
  }

  /** Drops the connection without settling anything or stopping cleanly, as a crash would (tests). */
  async crash(): Promise<void> {
    this.#closed = true;
    for (const delivery of this.#live) delivery.abandon();
    for (const parts of this.#queues.values()) parts.mover.stop();
    await this.link.abort();
  }

  #assertOpen(): void {
    if (this.#closed) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the NATS queue is closed', { retryable: false });
  }
}

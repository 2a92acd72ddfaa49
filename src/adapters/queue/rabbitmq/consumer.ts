/**
 * One subscription (D225): a channel with a consumer on each band queue of the OpenHQM queue, manual
 * acknowledgements, and a prefetch equal to what the subscription may hold (the worker's
 * concurrency, or its gate's smaller limit). Deliveries of all bands meet in a local buffer and
 * are handed to the handler highest band first, no more at once than that limit; a band's excess
 * stays in the buffer (still unacknowledged: the broker gives it back if this process goes).
 *
 * Before a delivery reaches the handler:
 * - a message not yet due (it came back from a delay tier early in its wait) goes on to its next
 *   tier and is acknowledged;
 * - an outside producer's message without a stable identity (AMQP message id and timestamp) is
 *   adopted: published again with one, and the original acknowledged, so every redelivery of it
 *   has the same `messageId` and `enqueuedAt`.
 *
 * A settle is sent only on the channel the delivery came on and only while that channel is open:
 * after a channel or connection loss the broker has requeued everything the channel held, and an
 * ack of a tag from the old channel would close the new one (or ack another message). A second
 * settle of one delivery does nothing. A delivery held for half of the broker's `consumer_timeout`
 * is parked (copied to a delay tier, the original acknowledged), so the broker never closes the
 * channel under a long request; its later settle acts on the copy's behalf (see RabbitDelivery).
 *
 * When the channel closes (the broker restarted, the queue was deleted, the connection dropped)
 * the subscription opens a new one and consumes again by itself, declaring the topology again;
 * `consuming` says whether it is consuming right now, for the health probe.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { AsyncMessage, Channel } from 'rabbitmq-client';
import type { Logger } from '../../../ports/logger.js';
import type { ConsumeGate, ConsumeOptions, Delivery, DeliveryHandler, Subscription } from '../../../ports/queue-backend.js';
import type { Topology } from './names.js';
import { bodyOf, readWire, type WireMessage } from './wire.js';

/** What a subscription needs from its backend. */
export interface SubscriptionHost {
  readonly logger: Logger;
  /** consumer_timeout_ms: a delivery held half as long is parked. */
  readonly consumerTimeoutMs: number;
  openChannel(): Promise<Channel>;
  declare(queue: string): Promise<Topology>;
  forget(queue: string): void;
  /** Publishes `message` to its band now, or to the tier for what remains of `delayMs`; resolves when confirmed. */
  forward(queue: string, message: WireMessage, delayMs: number): Promise<void>;
  /** Appends `message` to the queue's dead letters; resolves once it is there. */
  bury(queue: string, message: WireMessage, reason: string, attempts: number): Promise<void>;
  /** A delivery was handed out (+1) or settled (-1): the in-flight count of stats(). */
  inFlight(queue: string, change: number): void;
}

interface Held {
  readonly raw: AsyncMessage;
  readonly channel: Channel;
  readonly band: number;
  readonly message: WireMessage;
  readonly redeliveries: number;
  readonly at: number;
}

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 3000;

export class RabbitSubscription implements Subscription {
  #channel: Channel | undefined;
  #tags: string[] = [];
  /** The prefetch the live consumers were started with. */
  #prefetch = 0;
  /** Deliveries waiting for the handler, one list per band. */
  readonly #buffer: Held[][];
  /** Handler calls not yet resolved. */
  #running = 0;
  /** Handed out and not yet settled. */
  readonly #handed = new Set<RabbitDelivery>();
  #stopped = false;
  #consuming = false;
  #failures = 0;
  #lastError: string | undefined;
  #connecting: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #parkTimer: NodeJS.Timeout;
  readonly #unwatchGate: () => void;
  #reconsuming = false;

  constructor(
    private readonly host: SubscriptionHost,
    readonly queue: string,
    private readonly topology: Topology,
    private readonly options: ConsumeOptions,
    private readonly handler: DeliveryHandler,
  ) {
    this.#buffer = topology.bands.map(() => []);
    this.#unwatchGate = options.gate?.onRaise(this.#onRaise) ?? (() => undefined);
    const every = Math.max(250, Math.min(30_000, Math.floor(host.consumerTimeoutMs / 4)));
    this.#parkTimer = setInterval(() => this.#parkOld(), every);
    this.#parkTimer.unref();
    this.#connect();
  }

  /** Whether every band has a live consumer (false while reconnecting or after stop). */
  get consuming(): boolean {
    return this.#consuming;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#consuming = false;
    this.#unwatchGate();
    clearInterval(this.#parkTimer);
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    await this.#connecting?.catch(() => undefined);
    const channel = this.#channel;
    if (channel?.active === true) {
      for (const consumerTag of this.#tags) await channel.basicCancel({ consumerTag }).catch(() => undefined);
    }
    this.#tags = [];
    // Never handed out: back to the queue where they were, uncounted by us.
    for (const band of this.#buffer) for (const held of band.splice(0)) nack(held);
    this.#closeWhenIdle();
  }

  /** Closes the channel, handing back whatever it still holds; deliveries handed out go stale. */
  async close(): Promise<void> {
    await this.stop();
    const channel = this.#channel;
    this.#channel = undefined;
    await channel?.close().catch(() => undefined);
  }

  /** How many deliveries the handler may hold now (the gate may say none for a while). */
  #window(): number {
    const gate: ConsumeGate | undefined = this.options.gate;
    return gate === undefined ? this.options.concurrency : Math.min(this.options.concurrency, gate.limit());
  }

  /** The prefetch to consume with: the window, but at least 1 (0 would mean no limit at all). */
  #prefetchNow(): number {
    return Math.max(1, this.#window());
  }

  #connect(): void {
    if (this.#stopped || this.#connecting !== undefined) return;
    this.#connecting = this.#open()
      .then(() => {
        this.#failures = 0;
        this.#lastError = undefined;
      })
      .catch((error: unknown) => {
        this.#consuming = false;
        this.#lastError = error instanceof Error ? error.message : String(error);
        this.#failures += 1;
        if (this.#failures === 1 || this.#failures % 20 === 0) this.host.logger.warn({ err: error, queue: this.queue }, 'rabbitmq: cannot consume; trying again');
        const channel = this.#channel;
        this.#channel = undefined;
        void channel?.close().catch(() => undefined);
        // Declared again on the next try: the queue may have gone (a broker that lost its data, a deletion).
        this.host.forget(this.queue);
        this.#scheduleConnect();
      })
      .finally(() => {
        this.#connecting = undefined;
      });
  }

  #scheduleConnect(): void {
    if (this.#stopped || this.#retryTimer !== undefined) return;
    const wait = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(10, this.#failures));
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connect();
    }, wait);
    this.#retryTimer.unref();
  }

  async #open(): Promise<void> {
    await this.host.declare(this.queue);
    const channel = await this.host.openChannel();
    this.#channel = channel;
    channel.once('close', () => this.#onClosed(channel));
    // The broker cancels a consumer whose queue was deleted: start over, declaring it again.
    channel.on('basic.cancel', () => {
      this.host.forget(this.queue);
      void channel.close().catch(() => undefined);
    });
    await this.#consume(channel);
    if (this.#stopped) {
      this.#closeWhenIdle();
      return;
    }
    this.#consuming = true;
    this.#pump();
  }

  /** Starts a consumer on every band with the current window as prefetch (new consumers take a new qos). */
  async #consume(channel: Channel): Promise<void> {
    const prefetch = this.#prefetchNow();
    await channel.basicQos({ prefetchCount: prefetch });
    const tags: string[] = [];
    for (const [band, { queue }] of this.topology.bands.entries()) {
      const { consumerTag } = await channel.basicConsume({ queue }, (raw) => this.#onMessage(raw, channel, band));
      tags.push(consumerTag);
    }
    this.#tags = tags;
    this.#prefetch = prefetch;
  }

  /** The gate allows more: consumers started with a smaller prefetch are replaced. */
  readonly #onRaise = (): void => {
    this.#pump();
    const channel = this.#channel;
    if (this.#stopped || this.#reconsuming || !this.#consuming || channel?.active !== true || this.#prefetchNow() <= this.#prefetch) return;
    this.#reconsuming = true;
    const old = this.#tags;
    void (async () => {
      try {
        // What the old consumers were sent stays on the channel, valid to settle.
        for (const consumerTag of old) await channel.basicCancel({ consumerTag });
        if (!this.#stopped) await this.#consume(channel);
      } catch (error) {
        this.host.logger.warn({ err: error, queue: this.queue }, 'rabbitmq: could not raise the prefetch; reconnecting');
        void channel.close().catch(() => undefined);
      } finally {
        this.#reconsuming = false;
      }
    })();
  };

  #onClosed(channel: Channel): void {
    if (this.#channel !== channel) return;
    this.#channel = undefined;
    this.#consuming = false;
    this.#tags = [];
    // The broker requeued all of it: what waited here is gone, what was handed out went stale.
    for (const band of this.#buffer) band.length = 0;
    if (!this.#stopped) {
      this.host.logger.warn({ queue: this.queue }, 'rabbitmq: consumer channel closed; consuming again');
      this.#scheduleConnect();
    }
  }

  #onMessage(raw: AsyncMessage, channel: Channel, band: number): void {
    if (this.#stopped || channel !== this.#channel) {
      // Sent before our cancel reached the broker: back where it was.
      nack({ raw, channel });
      return;
    }
    const wire = readWire(raw);
    if (wire === undefined) {
      this.#adopt(raw, channel, band);
      return;
    }
    const { message, redeliveries } = wire;
    const now = Date.now();
    if (message.due > now) {
      this.#moveOn({ raw, channel }, this.host.forward(this.queue, message, message.due - now), 'sending a delayed message on to its next delay tier');
      return;
    }
    this.#buffer[band]?.push({ raw, channel, band, message, redeliveries, at: now });
    this.#pump();
  }

  /** An outside producer's message without an id and timestamp: published again with both, then acknowledged. */
  #adopt(raw: AsyncMessage, channel: Channel, band: number): void {
    const message: WireMessage = {
      body: bodyOf(raw),
      id: raw.messageId !== undefined && raw.messageId !== '' ? raw.messageId : randomUUID(),
      enqueuedAt: raw.timestamp !== undefined && raw.timestamp > 0 ? raw.timestamp * 1000 : Date.now(),
      count: 1,
      priority: this.topology.bands[band]?.min ?? 0,
      partitionKey: null,
      due: 0,
    };
    this.#moveOn({ raw, channel }, this.host.forward(this.queue, message, 0), 'adopting a message without an id');
  }

  /** Acknowledges the original once its copy is confirmed; on failure hands it back a little later. */
  #moveOn(held: Pick<Held, 'raw' | 'channel'>, copied: Promise<void>, what: string): void {
    copied.then(
      () => ack(held),
      (error: unknown) => {
        this.host.logger.warn({ err: error, queue: this.queue }, `rabbitmq: ${what} failed; handing it back`);
        setTimeout(() => nack(held), 1000).unref();
      },
    );
  }

  #pump(): void {
    while (!this.#stopped && this.#running < this.#window()) {
      const held = this.#takeNext();
      if (held === undefined) return;
      if (!held.channel.active) continue;
      const delivery = new RabbitDelivery(this, held);
      this.#running += 1;
      this.#handed.add(delivery);
      this.host.inFlight(this.queue, 1);
      this.handler(delivery)
        .catch((error: unknown) => this.host.logger.error({ err: error, message_id: delivery.messageId }, 'delivery handler failed'))
        .finally(() => {
          this.#running -= 1;
          this.#pump();
        });
    }
  }

  /** Highest band first, oldest first within a band. */
  #takeNext(): Held | undefined {
    for (let band = this.#buffer.length - 1; band >= 0; band -= 1) {
      const held = this.#buffer[band]?.shift();
      if (held !== undefined) return held;
    }
    return undefined;
  }

  /** Called by a delivery once settled (or found stale). */
  settled(delivery: RabbitDelivery): void {
    if (!this.#handed.delete(delivery)) return;
    this.host.inFlight(this.queue, -1);
    if (this.#stopped) this.#closeWhenIdle();
  }

  /** After stop: the channel stays open for the settles of what was handed out, then closes. */
  #closeWhenIdle(): void {
    if (!this.#stopped || this.#handed.size > 0) return;
    const channel = this.#channel;
    this.#channel = undefined;
    void channel?.close().catch(() => undefined);
  }

  /** Keeps the broker's consumer_timeout from closing the channel: what waited long goes back or is parked. */
  #parkOld(): void {
    const limit = Date.now() - this.host.consumerTimeoutMs / 2;
    for (const band of this.#buffer) {
      while (band[0] !== undefined && band[0].at < limit) nack(band.shift() as Held);
    }
    for (const delivery of this.#handed) if (delivery.heldSince < limit) delivery.park();
  }

  // What a RabbitDelivery does through its subscription.
  forward(message: WireMessage, delayMs: number): Promise<void> {
    return this.host.forward(this.queue, message, delayMs);
  }

  bury(message: WireMessage, reason: string, attempts: number): Promise<void> {
    return this.host.bury(this.queue, message, reason, attempts);
  }

  get parkDelayMs(): number {
    return Math.floor(this.host.consumerTimeoutMs / 2);
  }

  get logger(): Logger {
    return this.host.logger;
  }
}

/**
 * One delivery. Settles act on its channel only while that channel is open (else the broker has
 * requeued the message and they do nothing); the second settle of a delivery does nothing. A
 * retry, release or dead-letter first publishes the message's next copy (or its dead letter) and
 * acknowledges the original once that is confirmed, so a crash in between duplicates, never loses.
 * Parked (held past half the consumer_timeout), it has already been acknowledged and a copy waits
 * in a delay tier: an ack leaves that copy to be acknowledged when it comes back (the store says
 * the request is finished); a retry, release or dead-letter publishes as usual.
 */
export class RabbitDelivery implements Delivery {
  readonly messageId: string;
  readonly body: string;
  readonly deliveryCount: number;
  readonly priority: number;
  readonly partitionKey: string | null;
  readonly enqueuedAt: number;
  readonly heldSince: number;
  #settled = false;
  #parked = false;
  /** Settles and parking run one after the other. */
  #chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly sub: RabbitSubscription,
    private readonly held: Held,
  ) {
    const { message } = held;
    this.messageId = message.id;
    this.body = message.body.toString('utf8');
    this.deliveryCount = message.count + held.redeliveries;
    this.priority = message.priority;
    this.partitionKey = message.partitionKey;
    this.enqueuedAt = message.enqueuedAt;
    this.heldSince = held.at;
  }

  ack(): Promise<void> {
    return this.#settle(async () => undefined);
  }

  retry(delayMs: number): Promise<void> {
    return this.#settle(() => this.sub.forward({ ...this.held.message, count: this.deliveryCount + 1, due: 0 }, delayMs));
  }

  release(delayMs = 0): Promise<void> {
    return this.#settle(() => this.sub.forward({ ...this.held.message, count: this.deliveryCount, due: 0 }, delayMs));
  }

  deadLetter(reason: string): Promise<void> {
    return this.#settle(() => this.sub.bury(this.held.message, reason, this.deliveryCount));
  }

  /** Messages are held by the session, not a lease: nothing to extend (parking keeps the channel open). */
  async extend(): Promise<void> {}

  /** Copies the message to a delay tier and acknowledges the original (see the class comment). */
  park(): void {
    if (this.#settled || this.#parked) return;
    this.#parked = true;
    this.#chain = this.#chain.then(async () => {
      if (this.#settled || !this.held.channel.active) return;
      try {
        await this.sub.forward({ ...this.held.message, count: this.deliveryCount, due: 0 }, this.sub.parkDelayMs);
        ack(this.held);
        this.sub.logger.info({ message_id: this.messageId }, 'rabbitmq: a long-running delivery was parked so the broker keeps the channel open');
      } catch (error) {
        this.#parked = false;
        this.sub.logger.warn({ err: error, message_id: this.messageId }, 'rabbitmq: could not park a long-running delivery');
      }
    });
  }

  #settle(copy: () => Promise<void>): Promise<void> {
    if (this.#settled) return Promise.resolve();
    this.#settled = true;
    const run = this.#chain.then(async () => {
      const { channel } = this.held;
      if (!this.#parked && !channel.active) return; // Stale: the broker requeued it when the channel closed.
      try {
        await copy();
      } catch (error) {
        // The original goes back to its queue rather than wait on this channel for nothing.
        if (!this.#parked) nack(this.held);
        throw error;
      }
      if (!this.#parked) ack(this.held);
    });
    this.#chain = run.catch(() => undefined);
    return run.finally(() => this.sub.settled(this));
  }
}

function ack(held: Pick<Held, 'raw' | 'channel'>): void {
  if (!held.channel.active) return;
  try {
    held.channel.basicAck({ deliveryTag: held.raw.deliveryTag });
  } catch {
    // Closed meanwhile: the broker requeued it.
  }
}

function nack(held: Pick<Held, 'raw' | 'channel'>): void {
  if (!held.channel.active) return;
  try {
    held.channel.basicNack({ deliveryTag: held.raw.deliveryTag, requeue: true });
  } catch {
    // Closed meanwhile: the broker requeued it.
  }
}

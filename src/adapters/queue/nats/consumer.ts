/**
 * The consume loop of a NATS queue. Each time slots are free it sweeps the priority bands from
 * the highest down with pulls that answer at once (`no_wait`), taking at most as many messages as
 * slots are free, so what a process holds never exceeds its concurrency (or the gate's limit)
 * and a higher band is always asked first. A band found empty gets a *sentinel*: a pull for one
 * message that waits on the server, so a publish from any process, an outside producer, a lapsed
 * lease or a delayed retry coming due reaches this consumer at once, with no polling. A sentinel
 * that fires while every slot is taken hands its message straight back (-NAK). Sentinels end
 * after SENTINEL_MS and are renewed; a reconnect drops them (the server may have restarted) and
 * sweeps again.
 *
 * @module
 */
import type { Logger } from '../../../ports/logger.js';
import type { ConsumeGate, DeliveryHandler, Subscription } from '../../../ports/queue-backend.js';
import type { NatsDelivery } from './delivery.js';
import type { NatsLink } from './link.js';
import { BANDS, consumerOf, type Band } from './names.js';
import { nakMsg, pull, type PullRequest, type Pulled } from './pull.js';
import type { QueueStreams } from './streams.js';

/** How long a sentinel waits on the server before it is renewed. */
const SENTINEL_MS = 15_000;
/** Back-off after a failed sweep (NATS away): doubled up to the maximum, reset by a success or a reconnect. */
const RETRY_MS = { min: 100, max: 2_000 };

/** A pull waiting on the server for a band's next messages. */
interface Sentinel {
  readonly batch: number;
  /** Messages it brought so far. */
  readonly delivered: number;
  readonly request: PullRequest;
}

export interface ConsumerParts {
  readonly link: NatsLink;
  readonly streams: QueueStreams;
  readonly logger: Logger;
  /** Makes a delivery of a pulled message and tracks it. */
  deliver(pulled: Pulled, band: Band, leaseMs: number): NatsDelivery;
}

export class NatsConsumer implements Subscription {
  #inFlight = 0;
  #stopped = false;
  #pumping: Promise<void> | undefined;
  #again = false;
  #failures = 0;
  #retry: NodeJS.Timeout | undefined;
  /** When a pull of this subscription last got an answer (messages, "none", or a waiting pull's end). */
  #heardAt = Date.now();
  readonly #sentinels = new Map<Band, Sentinel>();
  readonly #unwatch: Array<() => void> = [];

  constructor(
    private readonly parts: ConsumerParts,
    private readonly concurrency: number,
    private readonly leaseMs: number,
    private readonly handler: DeliveryHandler,
    private readonly onStop: () => void,
    private readonly gate?: ConsumeGate,
  ) {
    this.#unwatch.push(gate?.onRaise(this.wake) ?? (() => undefined));
    this.#unwatch.push(parts.link.onReconnect(this.#reconnected));
    this.wake();
  }

  readonly wake = (): void => {
    this.#again = true;
    this.#pump();
  };

  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      for (const unwatch of this.#unwatch) unwatch();
      if (this.#retry !== undefined) clearTimeout(this.#retry);
      this.#dropSentinels();
      this.onStop();
    }
    await this.#pumping;
  }

  /**
   * How long this subscription has wanted messages without any pull being answered (0 while it
   * is busy or answered recently): a consumer that is alive but no longer consuming — its pulls
   * lost, the server not serving them — shows here, for the health probe. An idle one hears at
   * least every SENTINEL_MS, when its waiting pulls end.
   */
  stalledFor(now = Date.now()): number {
    if (this.#stopped || this.#limit() - this.#inFlight <= 0) return 0;
    const silent = now - this.#heardAt;
    return silent > SENTINEL_MS + this.parts.link.options.request_timeout_ms ? silent : 0;
  }

  #limit(): number {
    return this.gate === undefined ? this.concurrency : Math.min(this.concurrency, this.gate.limit());
  }

  /** Slots neither taken nor promised to a waiting pull (beyond the one message each may always bring). */
  #free(): number {
    let promised = 0;
    for (const sentinel of this.#sentinels.values()) promised += Math.max(0, sentinel.batch - sentinel.delivered - 1);
    return this.#limit() - this.#inFlight - promised;
  }

  #pump(): void {
    if (this.#stopped || this.#pumping !== undefined) return;
    this.#again = false;
    this.#pumping = this.#drain()
      .then(() => {
        this.#failures = 0;
      })
      .catch((error: unknown) => {
        this.#failures += 1;
        // Connected, yet the pull failed: the stream or consumer may be gone. Made sure of again next time.
        if (this.parts.link.connected) this.parts.streams.invalidate();
        const wait = Math.min(RETRY_MS.max, RETRY_MS.min * 2 ** Math.min(10, this.#failures - 1));
        if (this.#failures === 1) this.parts.logger.warn({ err: error }, 'nats: pulling messages failed; trying again');
        this.#retry = setTimeout(() => {
          this.#retry = undefined;
          this.wake();
        }, wait);
        this.#retry.unref();
      })
      .finally(() => {
        this.#pumping = undefined;
        if (this.#again && this.#failures === 0) this.#pump();
      });
  }

  /** One sweep, highest band first, while slots are free; the bands found empty then wait on the server. */
  async #drain(): Promise<void> {
    await this.parts.streams.wantLease(this.leaseMs);
    const empty: Band[] = [];
    try {
      for (const band of BANDS) {
        if (this.#stopped) return;
        const free = this.#free();
        if (free <= 0) return;
        if (this.#sentinels.has(band)) continue; // Empty when last asked; its sentinel hears the next message.
        const got = await this.#sweep(band, free);
        // Every slot filled: the next sweep starts again from the highest band.
        if (got >= free) {
          this.#again = true;
          return;
        }
        empty.push(band);
      }
    } finally {
      this.#arm(empty);
    }
  }

  async #sweep(band: Band, max: number): Promise<number> {
    const { link, streams } = this.parts;
    let got = 0;
    const request = pull(link.nc, { stream: streams.names.stream, consumer: consumerOf(band) }, max, undefined, link.options.request_timeout_ms, (pulled) => {
      got += 1;
      this.#dispatch(pulled, band);
    });
    const end = await request.done;
    this.#heardAt = Date.now();
    if (end === 'consumer-gone') {
      streams.invalidate();
      throw new Error(`the consumer of the ${band} band is gone; recreating it`);
    }
    return got;
  }

  /**
   * Waits on the server for the next messages of bands found empty: one message each, and the
   * lowest of them (where most traffic goes) as many as slots are free besides, so a steady
   * stream is delivered as it arrives without a request per message. Together they never promise
   * more than the free slots, but each may always bring one: a message that finds every slot
   * taken is handed back at once.
   */
  #arm(bands: readonly Band[]): void {
    const waiting = bands.filter((band) => !this.#sentinels.has(band));
    if (this.#stopped || waiting.length === 0) return;
    const spare = Math.max(0, this.#free() - waiting.length);
    waiting.forEach((band, i) => this.#armOne(band, i === waiting.length - 1 ? 1 + spare : 1));
  }

  #armOne(band: Band, batch: number): void {
    const { link, streams } = this.parts;
    let delivered = 0;
    const request = pull(link.nc, { stream: streams.names.stream, consumer: consumerOf(band) }, batch, SENTINEL_MS, link.options.request_timeout_ms, (pulled) => {
      delivered += 1;
      this.#heardAt = Date.now();
      if (this.#stopped || this.#limit() - this.#inFlight <= 0) nakMsg(pulled.msg, 0);
      else this.#dispatch(pulled, band);
    });
    const sentinel: Sentinel = {
      batch,
      get delivered() {
        return delivered;
      },
      request,
    };
    this.#sentinels.set(band, sentinel);
    request.done.then(
      (end) => {
        this.#heardAt = Date.now();
        if (this.#sentinels.get(band) !== sentinel) return;
        this.#sentinels.delete(band);
        if (end === 'consumer-gone') streams.invalidate();
        this.wake();
      },
      (error: unknown) => {
        if (this.#sentinels.get(band) !== sentinel) return;
        this.#sentinels.delete(band);
        this.parts.logger.debug({ err: error, band }, 'nats: a waiting pull failed; sweeping again');
        this.wake();
      },
    );
  }

  #dispatch(pulled: Pulled, band: Band): void {
    const delivery = this.parts.deliver(pulled, band, this.leaseMs);
    if (this.#stopped) {
      delivery.giveBack();
      return;
    }
    this.#inFlight += 1;
    this.handler(delivery)
      .catch((error: unknown) => {
        this.parts.logger.error({ err: error, message_id: delivery.messageId }, 'delivery handler failed');
      })
      .finally(() => {
        this.#inFlight -= 1;
        this.wake();
      });
  }

  /** Pulls that were waiting may be gone with the old connection's server: ask again. */
  readonly #reconnected = (): void => {
    this.#dropSentinels();
    this.#heardAt = Date.now();
    this.#failures = 0;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    this.wake();
  };

  #dropSentinels(): void {
    const sentinels = [...this.#sentinels.values()];
    this.#sentinels.clear();
    // A message the server sent before it heard we stopped listening goes straight back.
    for (const sentinel of sentinels) sentinel.request.cancel((pulled) => nakMsg(pulled.msg, 0));
  }
}

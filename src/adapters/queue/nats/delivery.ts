/**
 * One delivery of a NATS message. Its lease is the consumer's AckWait; a longer one (a
 * subscription's visibility timeout above the AckWait, or `extend`) is kept alive with `+WPI`
 * before each AckWait runs out, so a process that dies stops renewing and the message comes back
 * within one AckWait. A settle after this process's own view of the lease ran out is dropped:
 * on NATS an acknowledgement from a lapsed delivery settles the newer one (D233), and dropping
 * it only costs a redelivery, which the result store's claim hands back.
 *
 * @module
 */
import type { Delivery } from '../../../ports/queue-backend.js';
import { ackMsg, nakMsg, touchMsg, type Pulled } from './pull.js';
import type { Band } from './names.js';
import type { NatsConnection } from '@nats-io/transport-node';

export const HEADER = {
  id: 'Hqm-Id',
  at: 'Hqm-At',
  priority: 'Hqm-Priority',
  key: 'Hqm-Key',
  due: 'Hqm-Due',
  reason: 'Hqm-Reason',
  attempts: 'Hqm-Attempts',
} as const;

/** The priority a message without a priority header gets from its band (an outside producer's). */
const BAND_PRIORITY: Readonly<Record<Band, number>> = { high: 9, mid: 5, low: 0 };

export interface DeliveryContext {
  readonly nc: NatsConnection;
  readonly requestTimeoutMs: number;
  /** The bands' AckWait (ms) as this process last read it. */
  ackWaitMs(): number;
  /** Copies the message to the dead-letter stream. */
  bury(delivery: NatsDelivery, reason: string): Promise<void>;
  /** Called once when the delivery is settled or given up. */
  done(delivery: NatsDelivery): void;
}

export class NatsDelivery implements Delivery {
  readonly messageId: string;
  readonly body: string;
  readonly deliveryCount: number;
  readonly priority: number;
  readonly partitionKey: string | null;
  readonly enqueuedAt: number;
  #settled = false;
  /** When the server last restarted this delivery's AckWait, by our clock (never earlier than the server's). */
  #touchedAt = Date.now();
  /** Until when the lease should hold. */
  #leaseUntil: number;
  #keepAlive: NodeJS.Timeout | undefined;

  constructor(
    readonly pulled: Pulled,
    band: Band,
    leaseMs: number,
    private readonly context: DeliveryContext,
  ) {
    const { msg } = pulled;
    const header = (name: string): string | undefined => {
      const value = msg.headers?.get(name);
      return value === undefined || value === '' ? undefined : value;
    };
    this.messageId = header(HEADER.id) ?? String(pulled.streamSeq);
    this.body = msg.string();
    this.deliveryCount = pulled.delivered;
    const priority = Number(header(HEADER.priority));
    this.priority = Number.isInteger(priority) ? priority : BAND_PRIORITY[band];
    this.partitionKey = header(HEADER.key) ?? null;
    const at = Number(header(HEADER.at));
    this.enqueuedAt = Number.isFinite(at) && at > 0 ? at : pulled.storedAt;
    this.#leaseUntil = this.#touchedAt + leaseMs;
    this.#schedule();
  }

  get settled(): boolean {
    return this.#settled;
  }

  async ack(): Promise<void> {
    if (!this.#finish()) return;
    await ackMsg(this.context.nc, this.pulled.msg, this.context.requestTimeoutMs);
  }

  async retry(delayMs: number): Promise<void> {
    if (this.#finish()) nakMsg(this.pulled.msg, Math.max(0, delayMs));
  }

  async release(delayMs = 0): Promise<void> {
    if (this.#finish()) nakMsg(this.pulled.msg, Math.max(0, delayMs));
  }

  async deadLetter(reason: string): Promise<void> {
    if (this.#settled || this.#lapsed()) return void this.#finish();
    // Copied first, acknowledged after: a failure between the two leaves the message to come back (a second copy at worst).
    await this.context.bury(this, reason);
    if (!this.#finish()) return;
    await ackMsg(this.context.nc, this.pulled.msg, this.context.requestTimeoutMs);
  }

  async extend(ms: number): Promise<void> {
    if (this.#settled || this.#lapsed()) return;
    this.#leaseUntil = Date.now() + ms;
    this.#touch();
  }

  /** Hands the message back at once, whatever the lease (a delivery that arrived after its subscription stopped). */
  giveBack(): void {
    if (this.#finish(true)) nakMsg(this.pulled.msg, 0);
  }

  /** Marks the delivery settled; false when it already was, or when its lease ran out (the settle must not be sent). */
  #finish(evenIfLapsed = false): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    if (this.#keepAlive !== undefined) clearTimeout(this.#keepAlive);
    this.context.done(this);
    return evenIfLapsed || !this.#lapsed();
  }

  /**
   * Whether the server may already have redelivered the message: its AckWait ran out since the
   * last touch, less a margin for the server having started it before we heard of it.
   */
  #lapsed(): boolean {
    const wait = this.context.ackWaitMs();
    return Date.now() >= this.#touchedAt + wait - Math.min(1000, wait / 10);
  }

  #touch(): void {
    if (this.#settled) return;
    try {
      touchMsg(this.pulled.msg);
    } catch {
      // The connection is closed: nothing more to renew; the server redelivers when the AckWait runs out.
      return;
    }
    this.#touchedAt = Date.now();
    this.#schedule();
  }

  /** Stops renewing (the connection is going away); the message comes back when its AckWait runs out. */
  abandon(): void {
    if (this.#keepAlive !== undefined) clearTimeout(this.#keepAlive);
    this.#keepAlive = undefined;
  }

  /** Renews before the AckWait runs out, as long as the lease asks for more than the AckWait gives. */
  #schedule(): void {
    if (this.#keepAlive !== undefined) clearTimeout(this.#keepAlive);
    this.#keepAlive = undefined;
    const wait = this.context.ackWaitMs();
    if (this.#leaseUntil <= this.#touchedAt + wait) return;
    this.#keepAlive = setTimeout(() => this.#touch(), Math.max(10, Math.floor(wait / 2)));
    this.#keepAlive.unref();
  }
}

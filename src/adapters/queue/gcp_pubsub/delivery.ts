/**
 * One delivery of a pulled message. Its lease is the message's ack deadline, which this process
 * knows only from its side: the deadline runs from when the server took the last modAck, so the
 * local one (counted from when it was sent) always ends first. A settle is sent only while the
 * local deadline is more than a margin away: a settle from a lapsed delivery is never sent (D253).
 * The message then comes back, and the store's claim makes the duplicate harmless.
 *
 * @module
 */
import type { Delivery } from '../../../ports/queue-backend.js';
import type { PubSubClient, Pulled } from './client.js';
import { partitionKeyOf, priorityOf } from './wire.js';

/** A settle closer than this to the local deadline is not sent: it might arrive after the server's. */
const SETTLE_MARGIN_MS = 1000;
/** The longest ack deadline one modAck may set. */
export const LONGEST_DEADLINE_S = 600;

/** Whole seconds for a modAck, at most Pub/Sub's longest (a longer delay is chained by the worker). */
export function deadlineSeconds(ms: number): number {
  return Math.min(LONGEST_DEADLINE_S, Math.max(0, Math.ceil(ms / 1000)));
}

export interface DeliveryHost {
  readonly client: PubSubClient;
  /** Moves the message to the queue's dead-letter topic with the reason. */
  bury(delivery: PubSubDelivery, reason: string): Promise<void>;
}

export class PubSubDelivery implements Delivery {
  readonly messageId: string;
  readonly body: string;
  /** Pub/Sub counts deliveries only with a dead-letter policy (never on the emulator): the store's claim counts (D252). */
  readonly deliveryCount = 1;
  readonly priority: number;
  readonly partitionKey: string | null;
  readonly enqueuedAt: number;
  #deadline: number;
  #settled = false;

  constructor(
    private readonly host: DeliveryHost,
    readonly queue: string,
    private readonly subscription: string,
    readonly pulled: Pulled,
    deadline: number,
    /** Called once, when the delivery is settled: frees its slot and moves its key on. */
    private readonly onSettle: (outcome: 'done' | 'back') => void,
  ) {
    this.messageId = pulled.messageId;
    this.body = pulled.data.toString('utf8');
    this.priority = priorityOf(pulled.attributes);
    this.partitionKey = partitionKeyOf(pulled.attributes, pulled.orderingKey);
    this.enqueuedAt = pulled.publishedAt;
    this.#deadline = deadline;
  }

  /** Still this process's to settle. */
  get live(): boolean {
    return !this.#settled && Date.now() < this.#deadline - SETTLE_MARGIN_MS;
  }

  /** Held (invisible to others) as far as this process can tell: counted in flight. */
  get held(): boolean {
    return !this.#settled && Date.now() < this.#deadline;
  }

  async ack(): Promise<void> {
    if (!this.#take('done')) return;
    await this.host.client.ack(this.subscription, [this.pulled.ackId]);
  }

  async retry(delayMs: number): Promise<void> {
    await this.#giveBack(delayMs);
  }

  async release(delayMs = 0): Promise<void> {
    await this.#giveBack(delayMs);
  }

  async deadLetter(reason: string): Promise<void> {
    if (!this.#take('done', false)) return;
    // Written before the ack: a crash between the two leaves a dead letter and a redelivery the
    // store's claim settles, never a message gone without its record. The slot and the key are
    // freed once both are done, so dead letters of one consumer are written in the order it settles them.
    try {
      await this.host.bury(this, reason);
      await this.host.client.ack(this.subscription, [this.pulled.ackId]);
    } finally {
      this.onSettle('done');
    }
  }

  async extend(ms: number): Promise<void> {
    if (!this.live) return;
    const seconds = Math.max(1, deadlineSeconds(ms));
    const sentAt = Date.now();
    await this.host.client.modAck(this.subscription, [this.pulled.ackId], seconds);
    this.#deadline = sentAt + seconds * 1000;
  }

  /** The message comes back after `delayMs` (a modAck: Pub/Sub keeps it in place, D251). */
  async #giveBack(delayMs: number): Promise<void> {
    if (!this.#take('back')) return;
    await this.host.client.modAck(this.subscription, [this.pulled.ackId], deadlineSeconds(delayMs));
  }

  #take(outcome: 'done' | 'back', notify = true): boolean {
    if (!this.live) return false;
    this.#settled = true;
    if (notify) this.onSettle(outcome);
    return true;
  }
}

/**
 * One hand-out of a Kafka record to a subscription. Its settles are no-ops once it was settled,
 * or once its partition left this member (D263): the next owner reads the record again from the
 * committed offset, so a late settle here must neither republish it nor move a commit point.
 *
 * @module
 */
import type { KafkaMessage } from 'kafkajs';
import type { Delivery } from '../../../ports/queue-backend.js';
import type { Carried } from './headers.js';
import type { Publisher } from './producer.js';
import type { PartitionWindow } from './window.js';

/** A record taken from a partition, with the window it was taken into. */
export interface Taken {
  readonly partition: number;
  readonly window: PartitionWindow;
  readonly message: KafkaMessage;
}

/** What a delivery needs of the consumer that handed it out. */
export interface DeliveryOwner {
  readonly publisher: Publisher;
  readonly topic: string;
  /** Whether `taken` still belongs to this member. */
  current(taken: Taken): boolean;
  /** The delivery ended (settled or stale). */
  ended(): void;
  /** Its offset is finished. */
  finish(taken: Taken): void;
  /** Its settle could not be written: hand it out again later. */
  again(taken: Taken): void;
}

type Settle = 'ack' | 'retry' | 'release' | 'deadLetter';

export class KafkaDelivery implements Delivery {
  readonly messageId: string;
  readonly body: string;
  readonly deliveryCount: number;
  readonly priority: number;
  readonly partitionKey: string | null;
  readonly enqueuedAt: number;
  #done = false;

  constructor(
    private readonly owner: DeliveryOwner,
    private readonly taken: Taken,
    private readonly carried: Carried,
  ) {
    this.messageId = carried.id;
    this.body = taken.message.value?.toString('utf8') ?? '';
    this.deliveryCount = carried.attempts + 1;
    this.priority = carried.priority;
    this.partitionKey = taken.message.key === null ? null : taken.message.key.toString('utf8');
    this.enqueuedAt = carried.enqueuedAt;
  }

  ack(): Promise<void> {
    return this.#settle('ack', async () => undefined);
  }

  retry(delayMs: number): Promise<void> {
    return this.#settle('retry', () => this.#again(this.carried.attempts + 1, delayMs));
  }

  release(delayMs = 0): Promise<void> {
    return this.#settle('release', () => this.#again(this.carried.attempts, delayMs));
  }

  deadLetter(reason: string): Promise<void> {
    return this.#settle('deadLetter', () => this.owner.publisher.deadLetter(this.owner.topic, this.carried, this.body, this.partitionKey, reason, this.deliveryCount));
  }

  /** Sessions, not leases, bring a message back on Kafka: there is nothing to extend. */
  async extend(): Promise<void> {}

  #again(attempts: number, delayMs: number): Promise<void> {
    return this.owner.publisher.send(this.owner.topic, { ...this.carried, attempts }, this.body, this.partitionKey, delayMs);
  }

  async #settle(_kind: Settle, write: () => Promise<void>): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    if (!this.owner.current(this.taken)) {
      this.owner.ended();
      return;
    }
    try {
      await write();
    } catch (error) {
      this.owner.ended();
      this.owner.again(this.taken);
      throw error;
    }
    this.owner.finish(this.taken);
    this.owner.ended();
  }
}

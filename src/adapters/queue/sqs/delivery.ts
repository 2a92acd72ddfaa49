/**
 * One received SQS message as a Delivery (D242). Its lease is the visibility timeout the receive
 * asked for, tracked here by this process's clock from when the answer came (less a margin for
 * the way back): a settle or an extend through a handle whose lease lapsed is never sent. AWS may
 * or may not honour a stale receipt handle (moto does): relying on neither, a lapsed delivery is
 * simply let go, and the store's claim makes its outcome harmless.
 *
 * @module
 */
import type { Message } from '@aws-sdk/client-sqs';
import type { Delivery } from '../../../ports/queue-backend.js';
import type { SqsClient } from './client.js';
import { identityOf, receiveCount } from './wire.js';

/** SQS keeps a message invisible for at most 12 h from a receive. */
export const LONGEST_VISIBILITY_S = 43_200;

export type Outcome = 'open' | 'acked' | 'buried' | 'returned' | 'lapsed';

export interface DeliveryHost {
  readonly client: SqsClient;
  readonly url: string;
  bury(message: Message, reason: string, attempts: number): Promise<void>;
}

export class SqsDelivery implements Delivery {
  readonly messageId: string;
  readonly body: string;
  readonly deliveryCount: number;
  readonly priority: number;
  readonly partitionKey: string | null;
  readonly enqueuedAt: number;
  #outcome: Outcome = 'open';
  #heldUntil: number;
  readonly #receivedAt: number;

  constructor(
    private readonly host: DeliveryHost,
    private readonly message: Message,
    visibilityMs: number,
    receivedAt: number,
  ) {
    const identity = identityOf(message);
    this.messageId = identity.id;
    this.body = message.Body ?? '';
    this.deliveryCount = receiveCount(message);
    this.priority = identity.priority;
    this.partitionKey = identity.partitionKey;
    this.enqueuedAt = identity.enqueuedAt;
    this.#receivedAt = receivedAt;
    this.#heldUntil = receivedAt + visibilityMs - margin(visibilityMs);
  }

  /** The FIFO message group it belongs to (its own id on a standard queue). */
  get groupId(): string {
    return this.message.Attributes?.MessageGroupId ?? this.message.MessageId ?? this.messageId;
  }

  /** What became of it: `open` while the handler may still settle it and its lease holds. */
  get outcome(): Outcome {
    if (this.#outcome === 'open' && Date.now() >= this.#heldUntil) this.#outcome = 'lapsed';
    return this.#outcome;
  }

  async ack(): Promise<void> {
    await this.#settle('acked', () => this.host.client.call('acknowledging a message', new this.host.client.sdk.DeleteMessageCommand({ QueueUrl: this.host.url, ReceiptHandle: this.#handle })));
  }

  async retry(delayMs: number): Promise<void> {
    await this.#settle('returned', () => this.#changeVisibility(delayMs, 'retrying a message'));
  }

  async release(delayMs = 0): Promise<void> {
    await this.#settle('returned', () => this.#changeVisibility(delayMs, 'releasing a message'));
  }

  async deadLetter(reason: string): Promise<void> {
    await this.#settle('buried', async () => {
      await this.host.bury(this.message, reason, this.deliveryCount);
      await this.host.client.call('removing a dead-lettered message', new this.host.client.sdk.DeleteMessageCommand({ QueueUrl: this.host.url, ReceiptHandle: this.#handle }));
    });
  }

  async extend(ms: number): Promise<void> {
    if (this.outcome !== 'open') return;
    const sentAt = Date.now();
    const seconds = await this.#changeVisibility(ms, 'extending a lease');
    this.#heldUntil = sentAt + seconds * 1000;
  }

  /** Hands the message straight back (received after its subscription stopped). */
  async giveBack(): Promise<void> {
    await this.release(0).catch(() => undefined);
  }

  async #settle(outcome: Outcome, send: () => Promise<unknown>): Promise<void> {
    if (this.outcome !== 'open') return;
    this.#outcome = outcome;
    try {
      await send();
    } catch (error) {
      this.#outcome = 'open';
      throw error;
    }
  }

  /** Sets the visibility to `ms` from now (whole seconds, within the 12 h a receive allows); returns the seconds asked. */
  async #changeVisibility(ms: number, what: string): Promise<number> {
    const left = LONGEST_VISIBILITY_S - Math.ceil((Date.now() - this.#receivedAt) / 1000);
    const seconds = Math.max(0, Math.min(left, Math.ceil(Math.max(0, ms) / 1000)));
    await this.host.client.call(what, new this.host.client.sdk.ChangeMessageVisibilityCommand({ QueueUrl: this.host.url, ReceiptHandle: this.#handle, VisibilityTimeout: seconds }));
    return seconds;
  }

  get #handle(): string {
    return this.message.ReceiptHandle ?? '';
  }
}

/** The answer's way back and clock drift: a quarter of the lease, at most half a second. */
function margin(visibilityMs: number): number {
  return Math.min(500, visibilityMs / 4);
}

/**
 * One subscription: a loop of long polls (`queue.sqs_wait_seconds`) for at most what the worker may hold, each
 * message handed to the handler as a delivery (D242). On a FIFO queue the messages of one group
 * that come in one answer are handed out one after another, and when one of them is not acked or
 * dead-lettered the rest go straight back, so the group's head keeps its place (D246).
 *
 * A poll still waiting when the subscription stops is left to finish and what it brings is given
 * back at once; closing the backend cuts it instead, and what SQS had handed to it comes back
 * when its visibility lapses.
 *
 * @module
 */
import type { Message } from '@aws-sdk/client-sqs';
import type { ReceiveMessageCommandOutput } from '@aws-sdk/client-sqs';
import type { Logger } from '../../../ports/logger.js';
import type { ConsumeOptions, DeliveryHandler, Subscription } from '../../../ports/queue-backend.js';
import type { QueueUrls, SqsClient } from './client.js';
import { SqsDelivery, type DeliveryHost } from './delivery.js';

const BACKOFF_MS = [100, 250, 500, 1000, 2000];

export interface SubscriptionHost {
  readonly client: SqsClient;
  readonly logger: Logger;
  /** How long one receive waits (queue.sqs_wait_seconds). */
  readonly waitSeconds: number;
  bury(queue: string, urls: QueueUrls, message: Message, reason: string, attempts: number): Promise<void>;
}

export class SqsSubscription implements Subscription {
  /** False while polls fail: health() reports a subscription that takes nothing. */
  consuming = true;
  lastError: string | undefined;
  #stopped = false;
  #held = 0;
  #wake: (() => void) | undefined;
  readonly #abort = new AbortController();
  readonly #unregister: (() => void) | undefined;
  readonly #done: Promise<void>;

  constructor(
    private readonly host: SubscriptionHost,
    readonly queue: string,
    private readonly options: ConsumeOptions,
    private readonly handler: DeliveryHandler,
  ) {
    this.#unregister = options.gate?.onRaise(() => this.#poke());
    this.#done = this.#run();
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#unregister?.();
      this.#poke();
    }
    return Promise.resolve();
  }

  /** Stops and cuts a waiting poll (the backend is closing). */
  async close(): Promise<void> {
    await this.stop();
    this.#abort.abort();
    await this.#done;
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      const room = Math.min(this.options.concurrency, this.options.gate?.limit() ?? Number.POSITIVE_INFINITY) - this.#held;
      if (room <= 0) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      let urls: QueueUrls;
      let answer: ReceiveMessageCommandOutput;
      const visibilityS = Math.max(1, Math.ceil(this.options.visibilityTimeoutMs / 1000));
      try {
        urls = await this.host.client.urls(this.queue);
        answer = await this.host.client.call<ReceiveMessageCommandOutput>(
          `receiving from ${this.queue}`,
          new this.host.client.sdk.ReceiveMessageCommand({
            QueueUrl: urls.url,
            MaxNumberOfMessages: Math.min(10, room),
            WaitTimeSeconds: this.host.waitSeconds,
            VisibilityTimeout: visibilityS,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          this.#abort.signal,
        );
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        this.consuming = false;
        this.lastError = error instanceof Error ? error.message : String(error);
        this.host.client.forget(this.queue);
        this.host.logger.warn({ err: error, queue: this.queue }, 'receiving from SQS failed; trying again');
        await this.#pause(BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)] ?? 2000);
        failures += 1;
        continue;
      }
      failures = 0;
      this.consuming = true;
      this.lastError = undefined;
      const receivedAt = Date.now();
      const deliveryHost: DeliveryHost = {
        client: this.host.client,
        url: urls.url,
        bury: (message, reason, attempts) => this.host.bury(this.queue, urls, message, reason, attempts),
      };
      const deliveries = (answer.Messages ?? []).map((m) => new SqsDelivery(deliveryHost, m, visibilityS * 1000, receivedAt));
      if (this.#stopped) {
        await Promise.all(deliveries.map((d) => d.giveBack()));
        return;
      }
      for (const group of groups(deliveries, this.host.client.fifo)) void this.#handOut(group);
    }
  }

  /** Hands out one group's deliveries in order; once one is not settled for good, the rest go back unhandled. */
  async #handOut(group: SqsDelivery[]): Promise<void> {
    this.#held += group.length;
    let blocked = false;
    for (const delivery of group) {
      try {
        if (blocked || this.#stopped) await delivery.giveBack();
        else {
          await this.handler(delivery).catch((error: unknown) => this.host.logger.error({ err: error, queue: this.queue }, 'a delivery handler failed'));
          if (group.length > 1 && delivery.outcome !== 'acked' && delivery.outcome !== 'buried') blocked = true;
        }
      } finally {
        this.#held -= 1;
        this.#poke();
      }
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** FIFO: the deliveries of each message group, in the order received; standard: each on its own. */
function groups(deliveries: SqsDelivery[], fifo: boolean): SqsDelivery[][] {
  if (!fifo) return deliveries.map((d) => [d]);
  const byGroup = new Map<string, SqsDelivery[]>();
  for (const d of deliveries) {
    const key = d.groupId;
    byGroup.set(key, [...(byGroup.get(key) ?? []), d]);
  }
  return [...byGroup.values()];
}

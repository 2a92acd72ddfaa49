/**
 * One subscription of a worker to a queue: a loop of unary pulls (D250) that asks for no more
 * messages than the consumer has free slots (flow control equal to its concurrency and gate),
 * takes the consumer's lease on each pulled batch with one modAck before handing it out, and
 * parks a message that is not due yet with a modAck for the rest of its delay (D251).
 *
 * A failing pull (server gone, subscription deleted) is retried with a back-off by the loop
 * itself, re-creating the topology it lost, and marks the subscription as not consuming until a
 * pull succeeds again: health() reports that, so a worker that looks alive but takes nothing is
 * not ready.
 *
 * @module
 */
import type { Logger } from '../../../ports/logger.js';
import type { ConsumeOptions, DeliveryHandler, Subscription } from '../../../ports/queue-backend.js';
import type { PubSubClient, Pulled } from './client.js';
import { deadlineSeconds, PubSubDelivery, type DeliveryHost } from './delivery.js';
import { GRPC, grpcCode } from './errors.js';
import { KeyGate } from './key-gate.js';
import type { QueueNames } from './names.js';
import { A, numberOf } from './wire.js';

/** How long a pull may wait on an empty subscription before the loop looks again (stop, gate). */
const PULL_WAIT_MS = 5_000;
const BACKOFF_MS = [100, 250, 500, 1000, 2000];
/** How often a consumer checks that its subscription is still attached to its topic (client.ts). */
const ATTACHMENT_CHECK_MS = 5_000;

export interface ConsumerHost extends DeliveryHost {
  readonly client: PubSubClient;
  readonly logger: Logger;
  /** Most messages one pull asks for (queue.gcp_max_messages). */
  readonly maxMessages: number;
  /** Whether messages with a key are handed out one at a time per key (gcp_pubsub.ordering). */
  readonly ordered: boolean;
  /** Counts a delivery in flight while it is held. */
  track(queue: string, delivery: PubSubDelivery): void;
  /** Counts a message parked until `until` as delayed. */
  park(queue: string, messageId: string, until: number): void;
}

export class PubSubSubscription implements Subscription {
  #stopped = false;
  #held = 0;
  #wake: (() => void) | undefined;
  #pull: { cancel(): void } | undefined;
  readonly #loop: Promise<void>;
  readonly #unregister: () => void;
  readonly #gate: KeyGate;
  readonly #finish = new WeakMap<PubSubDelivery, (outcome: 'done' | 'back') => void>();
  #failures = 0;
  #checkedAt = 0;
  /** False while pulls fail: the worker is alive but takes nothing. */
  consuming = true;
  lastError: string | undefined;

  constructor(
    private readonly host: ConsumerHost,
    readonly queue: string,
    private readonly options: ConsumeOptions,
    private readonly handler: DeliveryHandler,
  ) {
    this.#unregister = options.gate?.onRaise(() => this.#wake?.()) ?? (() => undefined);
    this.#gate = new KeyGate((delivery) => this.#hand(delivery));
    this.#loop = this.#run().catch((error: unknown) => {
      // Not expected (every call in the loop is guarded); without a loop nothing is consumed.
      this.consuming = false;
      this.lastError = error instanceof Error ? error.message : String(error);
      host.logger.error({ err: error, queue }, 'the Pub/Sub consumer loop ended');
    });
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unregister();
    this.#wake?.();
    // Messages held back behind their key were never handed out: they go back at once.
    await Promise.all(this.#gate.drain().map((d) => d.release().catch(() => undefined)));
  }

  /** Stops and waits for the loop; a pull still waiting is cancelled (what it took lapses back). */
  async close(): Promise<void> {
    await this.stop();
    this.#pull?.cancel();
    await this.#loop;
  }

  async #run(): Promise<void> {
    let names: QueueNames | undefined;
    while (!this.#stopped) {
      const free = Math.min(this.options.concurrency, this.options.gate?.limit() ?? Infinity) - this.#held;
      if (free <= 0) {
        await this.#sleep();
        continue;
      }
      let batch: Pulled[];
      try {
        names ??= await this.host.client.declare(this.queue);
        if (Date.now() - this.#checkedAt >= ATTACHMENT_CHECK_MS) {
          await this.host.client.attached(names);
          this.#checkedAt = Date.now();
        }
        const pull = this.host.client.pull(names.work, Math.min(free, this.host.maxMessages), { waitMs: PULL_WAIT_MS });
        this.#pull = pull;
        batch = await pull.done;
        this.#recovered();
      } catch (error) {
        if (this.#stopped) break;
        if (grpcCode((error as { cause?: unknown }).cause) === GRPC.NOT_FOUND) {
          // The topic or subscription was deleted under us: created again on the next turn.
          this.host.client.forget(this.queue);
          names = undefined;
        }
        await this.#failed(error);
        continue;
      } finally {
        this.#pull = undefined;
      }
      if (this.#stopped) {
        await this.#giveBack(batch);
        break;
      }
      if (batch.length > 0) await this.#take(names, batch);
    }
  }

  /** Leases what is due and parks what is not. */
  async #take(names: QueueNames, batch: readonly Pulled[]): Promise<void> {
    const now = Date.now();
    const due: Pulled[] = [];
    for (const message of batch) {
      const at = numberOf(message.attributes, A.due);
      if (at > now) void this.#park(names, message, at - now);
      else due.push(message);
    }
    if (due.length === 0) return;
    const seconds = Math.max(1, deadlineSeconds(this.options.visibilityTimeoutMs));
    const sentAt = Date.now();
    try {
      await this.host.client.modAck(names.work, due.map((m) => m.ackId), seconds);
    } catch (error) {
      // Not leased: they come back when the subscription's deadline lapses.
      await this.#failed(error);
      return;
    }
    for (const message of due) {
      this.#held += 1;
      let finished = false;
      // Once per delivery: on its settle, or when its handler returns without one (abandoned).
      const finish = (outcome: 'done' | 'back'): void => {
        if (finished) return;
        finished = true;
        this.#held -= 1;
        this.#gate.settled(delivery, outcome);
        this.#wake?.();
      };
      const delivery: PubSubDelivery = new PubSubDelivery(this.host, this.queue, names.work, message, sentAt + seconds * 1000, finish);
      this.#finish.set(delivery, finish);
      this.host.track(this.queue, delivery);
      this.#gate.offer(delivery, this.host.ordered);
    }
  }

  /** Hands one delivery to the handler; its slot is freed when it is settled or the handler returns. */
  #hand(delivery: PubSubDelivery): void {
    if (this.#stopped) {
      void delivery.release().catch(() => undefined);
      return;
    }
    void Promise.resolve()
      .then(() => this.handler(delivery))
      .catch((error: unknown) => this.host.logger.error({ err: error, queue: this.queue }, 'a delivery handler failed'))
      // A handler that returned without settling abandoned the delivery: its lease lapses and
      // the message comes back, so its slot and its key are free now.
      .finally(() => this.#finish.get(delivery)?.('back'));
  }

  async #park(names: QueueNames, message: Pulled, remainingMs: number): Promise<void> {
    const seconds = Math.max(1, deadlineSeconds(remainingMs));
    try {
      await this.host.client.modAck(names.work, [message.ackId], seconds);
      this.host.park(this.queue, message.messageId, Date.now() + seconds * 1000);
    } catch (error) {
      this.host.logger.warn({ err: error, queue: this.queue }, 'parking a delayed message failed: it comes back when its deadline lapses');
    }
  }

  async #giveBack(messages: readonly Pulled[]): Promise<void> {
    if (messages.length === 0 || this.host.client.closed) return;
    const names = this.host.client.names(this.queue);
    await this.host.client.modAck(names.work, messages.map((m) => m.ackId), 0).catch(() => undefined);
  }

  #recovered(): void {
    if (!this.consuming) this.host.logger.info({ queue: this.queue }, 'consuming from Pub/Sub again');
    this.consuming = true;
    this.lastError = undefined;
    this.#failures = 0;
  }

  async #failed(error: unknown): Promise<void> {
    this.consuming = false;
    this.lastError = error instanceof Error ? error.message : String(error);
    if (this.#failures === 0) this.host.logger.warn({ err: error, queue: this.queue }, 'pulling from Pub/Sub failed; retrying');
    const wait = BACKOFF_MS[Math.min(this.#failures, BACKOFF_MS.length - 1)] ?? 1000;
    this.#failures += 1;
    await this.#sleep(wait);
  }

  /** Waits for a wake-up (a slot freed, the gate raised, stop) or `ms`. */
  #sleep(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      function done(): void {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }
}

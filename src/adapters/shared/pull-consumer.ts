/**
 * The consume loop of every backend that is read by pulling (SQLite, memory, PostgreSQL):
 * claim as many messages as there are free slots, hand each to the handler, and sleep until a
 * wake-up says something may have changed or the next scheduled message is due.
 *
 * The adapter supplies the claim and tells the loop when to look again (`wake`, `dueAt`).
 *
 * @module
 */
import type { Logger } from '../../ports/logger.js';
import type { ConsumeGate, Delivery, DeliveryHandler, Subscription } from '../../ports/queue-backend.js';

/** Longest the loop sleeps without looking, as a safety net against missed wake-ups. */
const MAX_IDLE_MS = 1000;
/** Shortest sleep before looking again when the source says something is due but gave nothing. */
const MIN_RETRY_MS = 5;

export interface PullSource {
  /** Leases up to `limit` visible messages, in delivery order. */
  claim(limit: number): Promise<Delivery[]>;
  /** Epoch ms at which the earliest invisible message becomes visible, if any. */
  nextDueAt(): number | undefined;
}

export class PullConsumer implements Subscription {
  #inFlight = 0;
  #stopped = false;
  #pumping: Promise<void> | undefined;
  /** Bumped by every wake-up, so a claim that raced with one does not conclude "empty". */
  #wakes = 0;
  #maybeReady = true;
  #timer: NodeJS.Timeout | undefined;
  #timerDue = Number.POSITIVE_INFINITY;
  readonly #onStop: () => void;
  readonly #unwatchGate: () => void;

  constructor(
    private readonly source: PullSource,
    private readonly concurrency: number,
    private readonly handler: DeliveryHandler,
    private readonly logger: Logger,
    onStop: () => void = () => undefined,
    /** ConsumeOptions.gate: a changing limit below `concurrency`. */
    private readonly gate?: ConsumeGate,
  ) {
    this.#onStop = onStop;
    this.#unwatchGate = gate?.onRaise(this.wake) ?? (() => undefined);
    this.wake();
  }

  /** How many deliveries may be held right now. */
  #capacity(): number {
    return this.gate === undefined ? this.concurrency : Math.min(this.concurrency, this.gate.limit());
  }

  /** Something may have become visible: look now. */
  readonly wake = (): void => {
    this.#wakes += 1;
    this.#maybeReady = true;
    this.#pump();
  };

  /** A message becomes visible at `at`: sleep no longer than that. */
  dueAt(at: number): void {
    if (this.#stopped || at >= this.#timerDue) return;
    this.#setTimer(Math.max(0, at - Date.now()) + 1);
  }

  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#unwatchGate();
      this.#onStop();
      if (this.#timer !== undefined) clearTimeout(this.#timer);
    }
    await this.#pumping;
  }

  #pump(): void {
    if (this.#stopped || this.#pumping !== undefined) return;
    this.#pumping = this.#drain()
      .catch((error: unknown) => {
        this.logger.error({ err: error }, 'claiming messages failed; will look again shortly');
        this.#maybeReady = false;
      })
      .finally(() => {
        this.#pumping = undefined;
        if (this.#maybeReady && this.#inFlight < this.#capacity()) this.#pump();
        else this.#armTimer();
      });
  }

  async #drain(): Promise<void> {
    while (!this.#stopped && this.#maybeReady) {
      const free = this.#capacity() - this.#inFlight;
      if (free <= 0) return;
      const wakesBefore = this.#wakes;
      const deliveries = await this.source.claim(free);
      if (this.#stopped) {
        await this.#handBack(deliveries);
        return;
      }
      if (deliveries.length < free && this.#wakes === wakesBefore) this.#maybeReady = false;
      for (const delivery of deliveries) this.#dispatch(delivery);
    }
  }

  /** Claimed while stop() ran: given back uncounted; one that cannot be returns when its lease lapses. */
  async #handBack(deliveries: readonly Delivery[]): Promise<void> {
    const results = await Promise.allSettled(deliveries.map((d) => d.release()));
    results.forEach((result, i) => {
      if (result.status === 'rejected') {
        this.logger.warn({ err: result.reason as unknown, message_id: deliveries[i]?.messageId }, 'could not hand back a delivery claimed while stopping; it returns when its visibility timeout lapses');
      }
    });
  }

  #dispatch(delivery: Delivery): void {
    this.#inFlight += 1;
    this.handler(delivery)
      .catch((error: unknown) => {
        this.logger.error({ err: error, message_id: delivery.messageId }, 'delivery handler failed');
      })
      .finally(() => {
        this.#inFlight -= 1;
        if (this.#maybeReady) this.#pump();
      });
  }

  #armTimer(): void {
    if (this.#stopped) return;
    let wait = MAX_IDLE_MS;
    try {
      const due = this.source.nextDueAt();
      // A due time already past after a claim that found nothing would spin: wait a little.
      if (due !== undefined) wait = Math.min(MAX_IDLE_MS, Math.max(MIN_RETRY_MS, due - Date.now() + 1));
    } catch {
      // Unreadable right now: look again after the idle interval.
    }
    this.#setTimer(wait);
  }

  #setTimer(wait: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerDue = Date.now() + wait;
    this.#timer = setTimeout(() => {
      this.#timerDue = Number.POSITIVE_INFINITY;
      this.wake();
    }, wait);
    this.#timer.unref();
  }
}

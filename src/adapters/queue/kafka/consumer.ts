/**
 * One queue's consumer in this process: one member of the queue's consumer group, shared by
 * every `consume()` of the queue on this backend instance (a worker's subscriptions, a test's
 * two), which it feeds in turn as they have room.
 *
 * Messages of one partition are handed out concurrently; the group's committed offset only
 * ever moves to the lowest one not yet finished (window.ts), a few milliseconds after a settle.
 * A settle that republishes (retry, release, dead letter) finishes its offset only once the
 * copy is acknowledged by the brokers; if that fails, the message is handed out again here
 * after a pause, so it is neither lost nor stuck until the next rebalance. When a rebalance
 * takes a partition away, what this process held of it is forgotten: its deliveries' settles
 * change nothing from then on (the new owner reads from the committed offset), and the store's
 * claim keeps a request that is still running here from running there too.
 *
 * @module
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { isHqmError } from '../../../core/errors.js';
import type { HealthReport } from '../../../ports/health.js';
import type { Logger } from '../../../ports/logger.js';
import type { ConsumeGate, DeliveryHandler, Subscription } from '../../../ports/queue-backend.js';
import { isRebalanceError, type KafkaClient } from './client.js';
import { KafkaDelivery, type DeliveryOwner, type Taken } from './delivery.js';
import { carriedOf } from './headers.js';
import type { Publisher } from './producer.js';
import { PartitionWindow } from './window.js';

/** How long after a settle its offset is committed: settles of the same moment share one commit. */
const COMMIT_DELAY_MS = 5;
const COMMIT_RETRY_MS = 500;
/** A delivery whose settle could not be written is handed out again after this long. */
const SETTLE_FAILURE_PAUSE_MS = 1000;
const START_RETRY_MS = { min: 500, max: 10_000 };

class LocalSubscription implements Subscription {
  held = 0;
  stopped = false;
  readonly #unwatch: () => void;

  constructor(
    private readonly owner: TopicConsumer,
    private readonly concurrency: number,
    readonly handler: DeliveryHandler,
    private readonly gate: ConsumeGate | undefined,
  ) {
    this.#unwatch = gate?.onRaise(() => owner.dispatch()) ?? (() => undefined);
  }

  get room(): number {
    if (this.stopped) return 0;
    const limit = this.gate === undefined ? this.concurrency : Math.min(this.concurrency, this.gate.limit());
    return limit - this.held;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.#unwatch();
    this.owner.remove(this);
  }
}

export interface TopicConsumerContext {
  readonly client: KafkaClient;
  readonly publisher: Publisher;
  readonly topic: string;
  readonly groupId: string;
  readonly logger: Logger;
  /** Makes sure the topics exist; called before every start. */
  readonly prepare: () => Promise<void>;
}

/** What this member knows of a partition it owns, for the stats. */
export interface OwnedPartition {
  readonly next: bigint | undefined;
  readonly finishedAhead: number;
}

export class TopicConsumer implements DeliveryOwner {
  readonly #subs: LocalSubscription[] = [];
  #turn = 0;
  readonly #buffer: Taken[] = [];
  readonly #windows = new Map<number, PartitionWindow>();
  /** Handed out and not settled (stale ones included, until their handler settles them). */
  #inFlight = 0;
  #roomWaiters: Array<() => void> = [];
  #commitTimer: NodeJS.Timeout | undefined;
  #committing = false;
  #commitAgain = false;
  #closed = false;
  #consumer: Consumer | undefined;
  readonly #started: Promise<void>;
  /** A start after kafkajs gave up on the consumer. */
  #restarted: Promise<void> | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Last sign of life of the kafkajs consumer (a fetch, a heartbeat, a join). */
  #lastActivity = Date.now();
  #crash: string | undefined;

  constructor(private readonly ctx: TopicConsumerContext) {
    this.#started = this.#start();
  }

  subscribe(concurrency: number, handler: DeliveryHandler, gate: ConsumeGate | undefined): Subscription {
    const sub = new LocalSubscription(this, concurrency, handler, gate);
    this.#subs.push(sub);
    this.dispatch();
    return sub;
  }

  remove(sub: LocalSubscription): void {
    const i = this.#subs.indexOf(sub);
    if (i >= 0) this.#subs.splice(i, 1);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Per partition this member owns: the local commit point and how many above it are finished. */
  owned(): Map<number, OwnedPartition> {
    const out = new Map<number, OwnedPartition>();
    for (const [p, w] of this.#windows) out.set(p, { next: w.next, finishedAhead: w.finishedAhead });
    return out;
  }

  /** The kafkajs consumer (tests stop it underneath to play a consumer that died quietly). */
  get driver(): Consumer | undefined {
    return this.#consumer;
  }

  health(stallMs: number): HealthReport {
    const topic = this.ctx.topic;
    if (this.#crash !== undefined) return { ok: false, detail: `the consumer of "${topic}" failed (${this.#crash}) and has not rejoined its group yet` };
    const silent = Date.now() - this.#lastActivity;
    if (silent > stallMs) return { ok: false, detail: `the consumer of "${topic}" has not fetched or heartbeated for ${Math.round(silent / 1000)} s: it is not consuming` };
    return { ok: true };
  }

  async #start(): Promise<void> {
    let wait = START_RETRY_MS.min;
    while (!this.#closed) {
      const consumer = this.ctx.client.consumer(this.ctx.groupId, { maxBytesPerPartition: Math.max(1_048_576, this.ctx.client.settings.maxMessageBytes + 65_536) });
      this.#watch(consumer);
      try {
        await this.ctx.prepare();
        await consumer.connect();
        await consumer.subscribe({ topics: [this.ctx.topic], fromBeginning: true });
        if (this.#closed) {
          await consumer.disconnect();
          return;
        }
        this.#consumer = consumer;
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: this.ctx.client.settings.partitions,
          eachBatch: (payload) => this.#eachBatch(payload),
        });
        return;
      } catch (error) {
        this.#crash = error instanceof Error ? error.message : String(error);
        // A missing topic waits for an operator (health says so); an outage for Kafka.
        const missing = isHqmError(error) && error.code === 'HQM_ERR_CONFIG';
        this.ctx.logger[missing ? 'error' : 'warn']({ err: error, topic: this.ctx.topic }, 'kafka: starting the consumer failed; trying again');
        await consumer.disconnect().catch(() => undefined);
        await this.#sleep(wait);
        wait = Math.min(START_RETRY_MS.max, wait * 2);
      }
    }
  }

  #watch(consumer: Consumer): void {
    const { events } = consumer;
    const alive = (): void => {
      this.#lastActivity = Date.now();
    };
    consumer.on(events.FETCH_START, alive);
    consumer.on(events.HEARTBEAT, alive);
    consumer.on(events.GROUP_JOIN, (event) => {
      alive();
      this.#crash = undefined;
      this.#assigned(new Set(event.payload.memberAssignment[this.ctx.topic] ?? []));
    });
    consumer.on(events.CRASH, (event) => {
      const error = event.payload.error;
      this.#crash = error.message;
      // The member is gone: what it held is the next owner's (perhaps this process again, as a
      // new member), read from the committed offsets. Its deliveries' settles change nothing now.
      this.#forgetAll();
      if (event.payload.restart) {
        this.ctx.logger.warn({ err: error, topic: this.ctx.topic }, 'kafka: the consumer failed; kafkajs restarts it');
        return;
      }
      // kafkajs gives up on errors it does not call retriable (a broker connection lost mid-request):
      // a consumer that stays down would leave the worker alive but idle. Start a new one.
      this.ctx.logger.warn({ err: error, topic: this.ctx.topic }, 'kafka: the consumer failed and kafkajs will not restart it; starting a new one');
      if (this.#consumer === consumer) this.#consumer = undefined;
      void this.#restart();
    });
  }

  #forgetAll(): void {
    this.#windows.clear();
    this.#buffer.length = 0;
    this.#wakeRoom();
  }

  async #restart(): Promise<void> {
    await this.#sleep(START_RETRY_MS.min);
    if (!this.#closed) this.#restarted = this.#start();
  }

  /** A rebalance ended: partitions no longer ours are forgotten, with what was taken of them. */
  #assigned(partitions: Set<number>): void {
    for (const [p, window] of this.#windows) {
      if (partitions.has(p)) continue;
      this.#windows.delete(p);
      for (let i = this.#buffer.length - 1; i >= 0; i -= 1) if (this.#buffer[i]?.window === window) this.#buffer.splice(i, 1);
    }
    for (const p of partitions) if (!this.#windows.has(p)) this.#windows.set(p, new PartitionWindow());
    this.#scheduleCommit();
    this.#wakeRoom();
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const resolveOffset = (offset: string): void => payload.resolveOffset(offset);
    const isRunning = (): boolean => payload.isRunning();
    const isStale = (): boolean => payload.isStale();
    this.#lastActivity = Date.now();
    let window = this.#windows.get(batch.partition);
    if (window === undefined) this.#windows.set(batch.partition, (window = new PartitionWindow()));
    for (const message of batch.messages) {
      const offset = BigInt(message.offset);
      if (window.knows(offset)) {
        resolveOffset(message.offset);
        continue;
      }
      while (!this.#closed && isRunning() && !isStale() && this.#buffer.length >= this.#bufferLimit()) {
        await this.#waitForRoom(this.ctx.client.settings.heartbeatIntervalMs);
        await payload.heartbeat();
        this.#lastActivity = Date.now();
      }
      if (this.#closed || !isRunning() || isStale() || this.#windows.get(batch.partition) !== window) return;
      window.take(offset);
      this.#buffer.push({ partition: batch.partition, window, message });
      resolveOffset(message.offset);
      this.dispatch();
    }
  }

  /** Fetched and not handed out: at most what the subscriptions could take at once. */
  #bufferLimit(): number {
    return this.#subs.reduce((sum, s) => sum + (s.stopped ? 0 : Math.max(1, s.room + s.held)), 0);
  }

  /** Hands buffered messages to subscriptions with room, in turn. */
  dispatch(): void {
    while (this.#buffer.length > 0) {
      const sub = this.#nextWithRoom();
      if (sub === undefined) break;
      const taken = this.#buffer.shift() as Taken;
      if (this.#windows.get(taken.partition) !== taken.window) continue;
      this.#handOut(sub, taken);
    }
    this.#wakeRoom();
  }

  #nextWithRoom(): LocalSubscription | undefined {
    for (let i = 0; i < this.#subs.length; i += 1) {
      const sub = this.#subs[(this.#turn + i) % this.#subs.length] as LocalSubscription;
      if (sub.room > 0) {
        this.#turn = (this.#turn + i + 1) % this.#subs.length;
        return sub;
      }
    }
    return undefined;
  }

  #handOut(sub: LocalSubscription, taken: Taken): void {
    sub.held += 1;
    this.#inFlight += 1;
    const delivery = new KafkaDelivery(this, taken, carriedOf(taken.message.headers, { partition: taken.partition, offset: taken.message.offset, timestamp: taken.message.timestamp }));
    sub
      .handler(delivery)
      .catch((error: unknown) => this.ctx.logger.error({ err: error, message_id: delivery.messageId }, 'delivery handler failed'))
      .finally(() => {
        sub.held -= 1;
        this.dispatch();
      });
  }

  /** Whether `taken` still belongs to this member (its partition was not taken away since). */
  current(taken: Taken): boolean {
    return !this.#closed && this.#windows.get(taken.partition) === taken.window;
  }

  /** A delivery ended (settled, or stale): its slot in the in-flight count goes. */
  ended(): void {
    this.#inFlight -= 1;
  }

  finish(taken: Taken): void {
    if (this.current(taken) && taken.window.finish(BigInt(taken.message.offset))) this.#scheduleCommit();
  }

  /** A settle could not be written: the message is handed out again here after a pause. */
  again(taken: Taken): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.current(taken)) return;
      this.#buffer.unshift(taken);
      this.dispatch();
    }, SETTLE_FAILURE_PAUSE_MS);
    this.#timers.add(timer);
  }

  get publisher(): Publisher {
    return this.ctx.publisher;
  }

  get topic(): string {
    return this.ctx.topic;
  }

  #scheduleCommit(): void {
    if (this.#commitTimer !== undefined || this.#closed) return;
    this.#commitTimer = setTimeout(() => {
      this.#commitTimer = undefined;
      void this.#commit();
    }, COMMIT_DELAY_MS);
  }

  async #commit(): Promise<void> {
    if (this.#committing) {
      this.#commitAgain = true;
      return;
    }
    const consumer = this.#consumer;
    const due = [...this.#windows].flatMap(([partition, window]) => {
      const offset = window.pendingCommit();
      return offset === undefined ? [] : [{ partition, window, offset }];
    });
    if (consumer === undefined || due.length === 0) return;
    this.#committing = true;
    try {
      await consumer.commitOffsets(due.map(({ partition, offset }) => ({ topic: this.ctx.topic, partition, offset: offset.toString() })));
      for (const { window, offset } of due) window.confirm(offset);
    } catch (error) {
      // A rebalance is under way (the join commits nothing for us) or the coordinator is away:
      // the offsets stay pending and go with the next commit.
      if (!isRebalanceError(error)) this.ctx.logger.debug({ err: error, topic: this.ctx.topic }, 'kafka: committing offsets failed; trying again');
      if (!this.#closed) {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          this.#scheduleCommit();
        }, COMMIT_RETRY_MS);
        this.#timers.add(timer);
      }
    } finally {
      this.#committing = false;
      if (this.#commitAgain) {
        this.#commitAgain = false;
        this.#scheduleCommit();
      }
    }
  }

  #waitForRoom(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#roomWaiters.push(done);
    });
  }

  #wakeRoom(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const wake of waiters) wake();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.add(timer);
    });
  }

  /** Leaves the group after committing what is finished; what is still held is read again by the next owner. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#commitTimer !== undefined) clearTimeout(this.#commitTimer);
    this.#commitTimer = undefined;
    await this.#commit().catch(() => undefined);
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#wakeRoom();
    this.#buffer.length = 0;
    await this.#started.catch(() => undefined);
    await this.#restarted?.catch(() => undefined);
    await this.#consumer?.disconnect().catch((error: unknown) => this.ctx.logger.debug({ err: error }, 'kafka: leaving the group failed'));
    this.#windows.clear();
  }
}

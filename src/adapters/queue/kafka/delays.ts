/**
 * The delay tiers of one queue: a member of the group `<group>.<queue>.delays` reading every
 * `<queue>.retry.<n>`. A record whose not-before time has come is published to its next hop (a
 * lower tier for what is left to wait, or the queue's topic) and then committed; one not yet due
 * pauses its partition until it is (kafkajs fetches the partition again from that record when
 * it resumes). Every record of a tier waits the same time, so the head of a partition is always
 * the first due. A crash between the publish and the commit moves a record twice: the store's
 * claim makes the copy harmless.
 *
 * @module
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { HealthReport } from '../../../ports/health.js';
import type { Logger } from '../../../ports/logger.js';
import type { KafkaClient } from './client.js';
import { carriedOf, headerNumber, H } from './headers.js';
import type { Publisher } from './producer.js';

const START_RETRY_MS = 2000;

export class DelayMover {
  #consumer: Consumer | undefined;
  #closed = false;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #started: Promise<void>;
  #restarted: Promise<void> | undefined;
  /** Per tier partition this member owns: the offset after the last record it moved (its commit may still be on the way). */
  readonly #moved = new Map<string, bigint>();
  #crash: string | undefined;

  private readonly client: KafkaClient;
  private readonly publisher: Publisher;
  private readonly queue: string;
  private readonly topics: readonly string[];
  private readonly groupId: string;
  private readonly logger: Logger;
  private readonly prepare: () => Promise<void>;

  constructor(ctx: {
    client: KafkaClient;
    publisher: Publisher;
    queue: string;
    topics: readonly string[];
    groupId: string;
    logger: Logger;
    /** Makes sure the topics exist; called before every start. */
    prepare: () => Promise<void>;
  }) {
    ({ client: this.client, publisher: this.publisher, queue: this.queue, topics: this.topics, groupId: this.groupId, logger: this.logger, prepare: this.prepare } = ctx);
    this.#started = this.#start();
  }

  /** Where this member has moved each tier partition it owns to (`<topic>:<partition>` → next offset). */
  moved(): ReadonlyMap<string, bigint> {
    return this.#moved;
  }

  health(): HealthReport {
    return this.#crash === undefined ? { ok: true } : { ok: false, detail: `the delay tiers of "${this.queue}" are not being read (${this.#crash})` };
  }

  async #start(): Promise<void> {
    while (!this.#closed) {
      const consumer = this.client.consumer(this.groupId);
      consumer.on(consumer.events.CRASH, (event) => {
        this.#crash = event.payload.error.message;
        this.#moved.clear();
        // kafkajs gives up on errors it does not call retriable: start a new member then.
        if (!event.payload.restart && !this.#closed) {
          const timer = setTimeout(() => {
            this.#timers.delete(timer);
            if (!this.#closed) this.#restarted = this.#start();
          }, START_RETRY_MS);
          this.#timers.add(timer);
        }
      });
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        this.#crash = undefined;
        const owned = new Set(Object.entries(event.payload.memberAssignment).flatMap(([t, ps]) => ps.map((p) => `${t}:${p}`)));
        for (const key of this.#moved.keys()) if (!owned.has(key)) this.#moved.delete(key);
      });
      try {
        await this.prepare();
        await consumer.connect();
        await consumer.subscribe({ topics: [...this.topics], fromBeginning: true });
        if (this.#closed) {
          await consumer.disconnect();
          return;
        }
        this.#consumer = consumer;
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: Math.min(16, this.topics.length * this.client.settings.partitions),
          eachBatch: (payload) => this.#eachBatch(payload),
        });
        return;
      } catch (error) {
        this.#crash = error instanceof Error ? error.message : String(error);
        this.logger.warn({ err: error, queue: this.queue }, 'kafka: starting the delay tiers\' consumer failed; trying again');
        await consumer.disconnect().catch(() => undefined);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.#timers.delete(timer);
            resolve();
          }, START_RETRY_MS);
          this.#timers.add(timer);
        });
      }
    }
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    let moved: string | undefined;
    const commit = async (): Promise<void> => {
      if (moved === undefined) return;
      await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: (BigInt(moved) + 1n).toString() }] }] });
    };
    for (const message of batch.messages) {
      if (this.#closed || !payload.isRunning() || payload.isStale()) break;
      const wait = (headerNumber(message.headers, H.notBefore) ?? 0) - Date.now();
      if (wait > 0) {
        // Not due: nothing behind it in this partition is either. Fetched again from here on resume.
        const resume = payload.pause();
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          if (!this.#closed) resume();
        }, wait);
        this.#timers.add(timer);
        break;
      }
      const carried = carriedOf(message.headers, { partition, offset: message.offset, timestamp: message.timestamp });
      const rest = headerNumber(message.headers, H.rest) ?? 0;
      try {
        await this.publisher.send(this.queue, carried, message.value?.toString('utf8') ?? '', message.key === null ? null : message.key.toString('utf8'), rest);
      } catch (error) {
        // What was moved before stays moved; kafkajs restarts the member, which reads on from there.
        await commit().catch(() => undefined);
        throw error;
      }
      payload.resolveOffset(message.offset);
      moved = message.offset;
      this.#moved.set(`${topic}:${partition}`, BigInt(message.offset) + 1n);
      await payload.heartbeat();
    }
    await commit();
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await this.#started.catch(() => undefined);
    await this.#restarted?.catch(() => undefined);
    await this.#consumer?.disconnect().catch((error: unknown) => this.logger.debug({ err: error }, 'kafka: leaving the delay group failed'));
  }
}

/**
 * Reading a queue's dead-letter topic (`<queue>.dlt`; its partition 0, the only one written). Kafka cannot delete one
 * record, so dead letters are kept as the topic keeps them (its `retention.ms` is
 * `queue.dead_letter_retention_seconds` when this process creates it) and every read applies
 * both bounds itself: the `queue.dead_letter_max` newest, younger than the retention.
 *
 * kafkajs reads only as a member of a group, so a reader is a member of a group of its own
 * (never committing), started on the first read and kept: it follows the topic and keeps the
 * newest `dead_letter_max` in memory. A read first asks the brokers where the topic ends and
 * waits until the reader got there, so a dead letter written just before (by any process) is
 * in the answer.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import type { DeadLetter } from '../../../ports/queue-backend.js';
import type { Logger } from '../../../ports/logger.js';
import type { KafkaClient } from './client.js';
import { guarded, unavailable } from './errors.js';
import { carriedOf, headerNumber, headerText, H } from './headers.js';
import { deadLetterTopic } from './topics.js';

const CATCH_UP_POLL_MS = 20;

export class DeadLetterReader {
  readonly #letters: DeadLetter[] = [];
  /** The offset after the last record read. */
  #position = 0n;
  #consumer: Consumer | undefined;
  #starting: Promise<void> | undefined;
  #closed = false;

  constructor(
    private readonly client: KafkaClient,
    private readonly queue: string,
    private readonly groupId: string,
    private readonly bounds: { readonly retentionMs: number; readonly max: number },
    private readonly logger: Logger,
  ) {}

  /** Dead letters newest first, within both bounds, as of now. */
  async read(): Promise<DeadLetter[]> {
    // As of the question: catching up may take a group join's time.
    const cutoff = Date.now() - this.bounds.retentionMs;
    const topic = deadLetterTopic(this.queue);
    const end = (await this.client.topicOffsets(topic)).find((p) => p.partition === 0);
    const high = BigInt(end?.high ?? '0');
    // Records below the low watermark are gone (retention): none of them will come.
    const low = BigInt(end?.low ?? '0');
    if (low > this.#position) this.#position = low;
    if (high > this.#position) {
      this.#starting ??= this.#start(topic).catch((error: unknown) => {
        this.#starting = undefined;
        throw error;
      });
      await guarded('following the dead-letter topic', this.#starting);
      const deadline = Date.now() + 2 * this.client.settings.requestTimeoutMs + this.client.settings.sessionTimeoutMs;
      while (this.#position < high) {
        if (this.#closed || Date.now() > deadline) throw unavailable(`reading the dead letters of "${this.queue}" did not catch up with the topic in time`);
        await new Promise((resolve) => setTimeout(resolve, CATCH_UP_POLL_MS));
      }
    }
    return this.#letters.filter((d) => d.deadLetteredAt >= cutoff).slice(-this.bounds.max).reverse();
  }

  async #start(topic: string): Promise<void> {
    const consumer = this.client.consumer(`${this.groupId}.reader-${randomBytes(6).toString('hex')}`);
    consumer.on(consumer.events.CRASH, (event) => {
      // Not restarted by kafkajs: the next read starts another reader (what was read is kept).
      if (!event.payload.restart && this.#consumer === consumer) {
        this.#consumer = undefined;
        this.#starting = undefined;
      }
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    this.#consumer = consumer;
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (batch.partition !== 0) return;
        for (const message of batch.messages) {
          // kafkajs restarts a failed member from the beginning (this group commits nothing).
          if (BigInt(message.offset) < this.#position && this.#letters.some((d) => d.id === message.offset)) continue;
          const carried = carriedOf(message.headers, { partition: batch.partition, offset: message.offset, timestamp: message.timestamp });
          this.#letters.push({
            id: message.offset,
            messageId: carried.id,
            body: message.value?.toString('utf8') ?? '',
            attempts: carried.attempts,
            reason: headerText(message.headers, H.reason) ?? '',
            deadLetteredAt: headerNumber(message.headers, H.deadAt) ?? Number(message.timestamp),
          });
          this.#position = BigInt(message.offset) + 1n;
        }
        // Only the newest `max` can ever be shown.
        if (this.#letters.length > 2 * this.bounds.max) this.#letters.splice(0, this.#letters.length - this.bounds.max);
      },
    });
    this.logger.debug({ topic }, 'kafka: following the dead-letter topic');
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#starting?.catch(() => undefined);
    await this.#consumer?.disconnect().catch(() => undefined);
  }
}

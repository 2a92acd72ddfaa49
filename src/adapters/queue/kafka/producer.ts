/**
 * Writing messages: a new one to its queue's topic (or, delayed, to the first tier of its
 * delay), a retried or released one again with its carried headers, a due one out of a tier to
 * its next hop, a dead one to the dead-letter topic with the reason in its headers. The record
 * key is the partition key, so Kafka keeps one key's messages in one partition, in order.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { OutboundMessage } from '../../../ports/queue-backend.js';
import { clampPriority } from '../../shared/messages.js';
import type { KafkaClient } from './client.js';
import { carriedHeaders, H, type Carried } from './headers.js';
import { deadLetterTopic, nextHop, tierDelayMs, tierTopic } from './topics.js';

export class Publisher {
  constructor(
    private readonly client: KafkaClient,
    private readonly tiers: number,
  ) {}

  async publish(queue: string, message: OutboundMessage): Promise<string> {
    const carried: Carried = { id: randomUUID(), enqueuedAt: Date.now(), attempts: 0, priority: clampPriority(message.priority) };
    await this.send(queue, carried, message.body, message.partitionKey ?? null, message.delayMs ?? 0);
    return carried.id;
  }

  /** To the queue's topic when `delayMs` is 0, else to the tier of its first hop. */
  send(queue: string, carried: Carried, body: string, key: string | null, delayMs: number): Promise<void> {
    const hop = nextHop(delayMs, this.tiers);
    const headers = carriedHeaders(carried);
    if (hop === undefined) return this.client.send(queue, { key, value: body, headers });
    return this.client.send(tierTopic(queue, hop.tier), {
      key,
      value: body,
      headers: { ...headers, [H.notBefore]: String(Date.now() + tierDelayMs(hop.tier)), [H.rest]: String(hop.restMs) },
    });
  }

  deadLetter(queue: string, carried: Carried, body: string, key: string | null, reason: string, attempts: number): Promise<void> {
    // Partition 0 only: where topics are auto-created they have the broker's partition count.
    return this.client.send(deadLetterTopic(queue), {
      partition: 0,
      key,
      value: body,
      headers: { ...carriedHeaders(carried), [H.attempts]: String(attempts), [H.reason]: reason, [H.deadAt]: String(Date.now()) },
    });
  }
}

/**
 * On a RabbitMQ node this file starts (its consumer_timeout shortened, its connections closed at
 * will: never the machine's shared broker).
 *
 * A request that runs longer than the broker's consumer_timeout does not get its channel closed
 * (which would requeue everything on it): on a private node with consumer_timeout 2 s, a delivery
 * held for 5 s is parked at half the timeout, the subscription keeps consuming throughout, and
 * nothing comes back as a redelivery. The parked copy is handed back while the original runs, as
 * the worker does when the store says another delivery holds the request, and acknowledged once
 * it has finished.
 *
 * After a lost connection the broker has requeued what the old channel held: settles of those
 * deliveries must do nothing (an ack with a tag the new channel does not know would close it; the
 * same tag number may name another message).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factory } from '../../src/adapters/queue/rabbitmq/index.js';
import type { Delivery } from '../../src/ports/queue-backend.js';
import { silentLogger } from '../../src/ports/logger.js';
import { startPrivateRabbit, type PrivateRabbit } from '../helpers/rabbitmq.js';
import { waitFor } from '../helpers/wait.js';

const CONSUMER_TIMEOUT_MS = 2000;

describe('RabbitMQ on a node of the test\'s own', () => {
  let rabbit: PrivateRabbit | undefined;
  let skip: string | undefined;

  beforeAll(async () => {
    const started = await startPrivateRabbit({ consumerTimeoutMs: CONSUMER_TIMEOUT_MS });
    if ('skip' in started) skip = started.skip;
    else rabbit = started;
  }, 120_000);

  afterAll(async () => {
    await rabbit?.destroy();
  }, 60_000);

  it('parks a delivery held past half the timeout, so the broker never closes the channel under it', async (ctx) => {
    if (rabbit === undefined) return ctx.skip(skip ?? 'no private RabbitMQ');
    const queue = await factory.create({ rabbitmq_url: rabbit.url, consumer_timeout_ms: CONSUMER_TIMEOUT_MS }, { logger: silentLogger });
    try {
      await queue.publish('long', { body: 'long' });
      const seen: Delivery[] = [];
      let finished = false;
      let unhealthy = 0;
      const sub = queue.consume('long', { concurrency: 4, visibilityTimeoutMs: 30_000 }, async (d) => {
        seen.push(d);
        if (seen.length === 1) {
          // The long run: longer than the consumer_timeout, twice over.
          setTimeout(() => {
            finished = true;
            void d.ack();
          }, 2.5 * CONSUMER_TIMEOUT_MS);
          return;
        }
        // The parked copy: handed back while the original runs, acknowledged once it finished.
        await (finished ? d.ack() : d.release(500));
      });
      const watch = setInterval(() => {
        void queue.health().then((h) => {
          if (!h.ok) unhealthy += 1;
        });
      }, 100);
      await waitFor(() => finished, { timeoutMs: 20_000, what: 'the long run to finish' });
      await waitFor(async () => {
        const stats = await queue.stats('long');
        return stats.depth === 0 && stats.inFlight === 0 && seen.at(-1) !== seen[0];
      }, { timeoutMs: 20_000, what: 'the parked copy to be acknowledged' });
      clearInterval(watch);
      await sub.stop();
      expect(unhealthy).toBe(0);
      // A channel the broker closed would have given the message back with x-delivery-count 1.
      expect(seen.every((d) => d.deliveryCount === 1)).toBe(true);
      expect(new Set(seen.map((d) => d.messageId)).size).toBe(1);
    } finally {
      await queue.close();
    }
  }, 60_000);

  it('after the connection is lost, settles of the old deliveries do nothing: no copy, no closed channel, the redeliveries untouched', async (ctx) => {
    if (rabbit === undefined) return ctx.skip(skip ?? 'no private RabbitMQ');
    const broker = rabbit;
    const queue = await factory.create({ rabbitmq_url: rabbit.url }, { logger: silentLogger });
    try {
      await queue.publish('stale', { body: 'a' });
      await queue.publish('stale', { body: 'b' });
      const seen: Delivery[] = [];
      const sub = queue.consume('stale', { concurrency: 4, visibilityTimeoutMs: 30_000 }, async (d) => {
        seen.push(d); // Held: settled by the test.
      });
      await waitFor(() => seen.length === 2, { what: 'both deliveries' });
      expect(broker.rabbitmqctl(['close_all_connections', 'test: a lost connection']).ok).toBe(true);
      // The broker requeued both; the subscription consumes again by itself and gets them again.
      await waitFor(() => seen.length === 4, { timeoutMs: 20_000, what: 'both redelivered after the reconnect' });
      const [oldA, oldB, ...fresh] = seen as [Delivery, Delivery, Delivery, Delivery];
      expect(fresh.map((d) => d.deliveryCount)).toEqual([2, 2]);
      // Stale: an ack, a retry, a dead-letter and a double ack from the lost channel.
      await oldA.ack();
      await oldB.retry(0);
      await oldB.deadLetter('stale');
      await oldA.ack();
      await waitFor(async () => (await queue.health()).ok, { what: 'consuming again on every band' });
      expect(await queue.health()).toEqual({ ok: true });
      expect(await queue.stats('stale')).toMatchObject({ depth: 0, inFlight: 2, deadLettered: 0 });
      await Promise.all(fresh.map((d) => d.ack()));
      await waitFor(async () => (await queue.stats('stale')).inFlight === 0, { what: 'the fresh acks' });
      await sub.stop();
      // Nothing came back: no copy of a stale retry, no requeue of a closed channel.
      expect(seen).toHaveLength(4);
      expect(await queue.stats('stale')).toMatchObject({ depth: 0, inFlight: 0, deadLettered: 0 });
    } finally {
      await queue.close();
    }
  }, 60_000);
});

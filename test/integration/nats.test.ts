/**
 * The NATS JetStream queue against the machine's server (127.0.0.1:4222, started with -js).
 * Every run of this file works under stream and subject prefixes of its own, whose streams are
 * deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { factory, type NatsQueue } from '../../src/adapters/queue/nats/index.js';
import { queueNames } from '../../src/adapters/queue/nats/names.js';
import { isHqmError } from '../../src/core/errors.js';
import type { Delivery } from '../../src/ports/queue-backend.js';
import { silentLogger } from '../../src/ports/logger.js';
import { describeQueueBackend } from '../../src/conformance/index.js';
import { dropNatsStreams, NATS_URL, natsPrefixes, requireNats } from '../helpers/nats.js';
import { vanishingProxy } from '../helpers/vanishing-proxy.js';
import { waitFor } from '../helpers/wait.js';

const context = { logger: silentLogger };
const prefixes = natsPrefixes();
const connection = { nats_url: NATS_URL, ...prefixes, request_timeout_ms: 2_000 };

afterAll(async () => {
  if ((await requireNats().catch(() => undefined)) === undefined) await dropNatsStreams(prefixes.stream_prefix);
});

describeQueueBackend('nats', async () => {
  const missing = await requireNats();
  if (missing !== undefined) return missing;
  return {
    open: (extra) => factory.create({ ...connection, ...extra }, context),
    // The connection dropped with nothing settled: what it held comes back when its AckWait runs out.
    crash: (backend) => (backend as NatsQueue).crash(),
    unreachable: async () => {
      // Connected through a proxy that then vanishes: the client is left reconnecting to nothing.
      const target = new URL(NATS_URL);
      const proxy = await vanishingProxy(target.hostname, Number(target.port || 4222));
      const queue = await factory.create({ ...connection, nats_url: `nats://127.0.0.1:${proxy.port}` }, context);
      proxy.vanish();
      try {
        return await waitFor(async () => {
          const report = await queue.health();
          return report.ok ? undefined : report;
        }, { what: 'health to see the lost server' });
      } finally {
        await queue.close();
      }
    },
  };
});

describe('nats queue behaviour', () => {
  const opened: NatsQueue[] = [];
  let raw: NatsConnection | undefined;
  const open = async (extra: Record<string, unknown> = {}): Promise<NatsQueue> => {
    const queue = (await factory.create({ ...connection, ...extra }, context)) as NatsQueue;
    opened.push(queue);
    return queue;
  };
  const client = async (): Promise<NatsConnection> => (raw ??= await connect({ servers: NATS_URL }));
  const names = (queue: string) => queueNames(prefixes.stream_prefix, prefixes.subject_prefix, queue);
  const collect = (q: NatsQueue, queue: string, visibilityTimeoutMs = 30_000) => {
    const seen: Delivery[] = [];
    const subscription = q.consume(queue, { concurrency: 4, visibilityTimeoutMs }, async (d) => {
      seen.push(d);
      await d.ack();
    });
    return { seen, subscription };
  };

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((q) => q.close()));
  });
  afterAll(async () => {
    await raw?.close();
  });

  it('recreates consumers deleted under a running subscription and keeps consuming; a deleted stream is created again by the next publish', async (ctx) => {
    const missing = await requireNats();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const queue = `del-${randomUUID()}`;
    const q = await open();
    const { seen, subscription } = collect(q, queue);
    await q.publish(queue, { body: 'before' });
    await waitFor(() => seen.length === 1, { what: 'the first delivery' });
    const jsm = await jetstreamManager(await client());
    // An operator deletes the consumers while the subscription waits on them…
    for (const consumer of ['hqm-high', 'hqm-mid', 'hqm-low', 'hqm-delayed']) await jsm.consumers.delete(names(queue).stream, consumer);
    await q.publish(queue, { body: 'after the consumers went' });
    await waitFor(() => seen.length === 2, { what: 'a delivery through recreated consumers' });
    await subscription.stop();
    // The whole stream deleted (while nothing waits on it: nats-server 2.9 can leave a stream deleted
    // under waiting pulls unusable for a moment): the next publish may fail (503), a later one creates it again.
    await jsm.streams.delete(names(queue).stream);
    await waitFor(async () => await q.publish(queue, { body: 'after the stream went' }).then(() => true, () => false), { what: 'a publish into a recreated stream' });
    const again = collect(q, queue);
    await waitFor(() => again.seen.some((d) => d.body === 'after the stream went'), { what: 'a delivery from the recreated stream' });
    await again.subscription.stop();
    expect((await q.health()).ok).toBe(true);
  });

  it('an outside producer’s message without headers: the stream sequence is its id, its band gives its priority', async (ctx) => {
    const missing = await requireNats();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const queue = `bare-${randomUUID()}`;
    const q = await open();
    await q.stats(queue); // Creates the stream, as a worker would.
    const js = jetstream(await client());
    const low = await js.publish(names(queue).subject.low, '{"n":1}');
    const high = await js.publish(names(queue).subject.high, '{"n":2}');
    const { seen, subscription } = collect(q, queue);
    await waitFor(() => seen.length === 2, { what: 'both messages' });
    await subscription.stop();
    expect(seen.map((d) => [d.body, d.messageId, d.priority])).toEqual([
      ['{"n":2}', String(high.seq), 9],
      ['{"n":1}', String(low.seq), 0],
    ]);
    expect(seen.every((d) => d.partitionKey === null && d.deliveryCount === 1 && Math.abs(d.enqueuedAt - Date.now()) < 60_000)).toBe(true);
  });

  it('a delayed message keeps the id its publish returned, its enqueue time, priority and partition key when the mover moves it to its band', async (ctx) => {
    const missing = await requireNats();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const queue = `moved-${randomUUID()}`;
    const q = await open();
    const before = Date.now();
    const { messageId } = await q.publish(queue, { body: 'later', delayMs: 200, priority: 6, partitionKey: 'k1' });
    const { seen, subscription } = collect(q, queue);
    await waitFor(() => seen.length === 1, { what: 'the moved message' });
    await subscription.stop();
    expect(seen[0]).toMatchObject({ messageId, body: 'later', priority: 6, partitionKey: 'k1', deliveryCount: 1 });
    expect(seen[0]?.enqueuedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(seen[0]?.enqueuedAt).toBeLessThan(before + 150);
  });

  it('higher bands first: with every band waiting, a consumer with one slot takes high, then mid, then low', async (ctx) => {
    const missing = await requireNats();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const queue = `bands-${randomUUID()}`;
    const q = await open();
    for (const priority of [0, 5, 9, 2, 6, 8]) await q.publish(queue, { body: String(priority), priority });
    const order: string[] = [];
    const subscription = q.consume(queue, { concurrency: 1, visibilityTimeoutMs: 30_000 }, async (d) => {
      order.push(d.body);
      await d.ack();
    });
    await waitFor(() => order.length === 6, { what: 'every message' });
    await subscription.stop();
    expect(order).toEqual(['9', '8', '5', '6', '0', '2']);
  });

  it('the consumers’ AckWait is the shortest lease asked for; a subscription with a longer one renews its deliveries', async (ctx) => {
    const missing = await requireNats();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const queue = `lease-${randomUUID()}`;
    const q = await open();
    const short = q.consume(queue, { concurrency: 1, visibilityTimeoutMs: 400 }, async () => undefined);
    const jsm = await jetstreamManager(await client());
    await waitFor(async () => (await jsm.consumers.info(names(queue).stream, 'hqm-low').catch(() => undefined))?.config.ack_wait === 400_000_000, { what: 'AckWait 400 ms' });
    await short.stop();
    await q.publish(queue, { body: 'slow' });
    const held: Delivery[] = [];
    const long = q.consume(queue, { concurrency: 2, visibilityTimeoutMs: 30_000 }, async (d) => {
      held.push(d);
    });
    await waitFor(() => held.length === 1, { what: 'the delivery' });
    // Three AckWaits pass: renewed, the message is not redelivered.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(held).toHaveLength(1);
    expect((await jsm.consumers.info(names(queue).stream, 'hqm-low')).config.ack_wait).toBe(400_000_000);
    await held[0]?.ack();
    await long.stop();
  });

  it('fails a publish at once while disconnected, with HQM_ERR_BACKEND_UNAVAILABLE, and publishes again once back', async (ctx) => {
    const missing = await requireNats();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const target = new URL(NATS_URL);
    const proxy = await vanishingProxy(target.hostname, Number(target.port || 4222));
    const q = await open({ nats_url: `nats://127.0.0.1:${proxy.port}` });
    const queue = `down-${randomUUID()}`;
    await q.publish(queue, { body: 'up' });
    proxy.vanish();
    await waitFor(async () => !(await q.health()).ok, { what: 'the lost connection' });
    const started = Date.now();
    const error = await q.publish(queue, { body: 'down' }).catch((e: unknown) => e);
    expect(isHqmError(error) && error.code).toBe('HQM_ERR_BACKEND_UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

/**
 * What is particular to the Kafka queue, against librdkafka's mock cluster (a `kcat` process this
 * file starts and stops): identity carried in headers across republishing, outside producers'
 * records, commits of the lowest unfinished offset, topic creation refused, dead letters that
 * cannot be managed one by one, and a consumer that is alive but not consuming.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factory, type KafkaQueue } from '../../src/adapters/queue/kafka/index.js';
import { isHqmError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { Delivery, QueueBackend } from '../../src/ports/queue-backend.js';
import { kcatProduce, requireKcat, startMockKafka, type MockKafka } from '../helpers/kafka.js';
import { waitFor } from '../helpers/wait.js';

const context = { logger: silentLogger };
let mock: MockKafka | undefined;
const opened: QueueBackend[] = [];

beforeAll(async () => {
  if (requireKcat() === undefined) mock = await startMockKafka();
});

afterAll(async () => {
  await Promise.all(opened.map((q) => q.close()));
  await mock?.stop();
});

const group = `hqm-test-${randomUUID()}`;
async function open(extra: Record<string, unknown> = {}): Promise<KafkaQueue> {
  const q = (await factory.create({ kafka_bootstrap_servers: mock?.brokers, kafka_consumer_group: group, session_timeout_ms: 6000, heartbeat_interval_ms: 500, fetch_max_wait_ms: 50, ...extra }, context)) as KafkaQueue;
  opened.push(q);
  return q;
}

const longWait = { timeoutMs: 30_000 };

// A case waits on the mock's group joins (3 s each) several times, each wait with its own 30 s
// deadline: the case's own limit must not be shorter than one wait on a loaded machine.
describe('Kafka queue', { timeout: 120_000 }, () => {
  it('keeps a message\'s id and enqueue time across retry and release, counting only the retry', async (ctx) => {
    if (mock === undefined) return ctx.skip(requireKcat()?.skip ?? 'no mock');
    const q = await open();
    const queue = `hqm-test-${randomUUID()}`;
    const { messageId } = await q.publish(queue, { body: 'kept' });
    const seen: Delivery[] = [];
    const sub = q.consume(queue, { concurrency: 1, visibilityTimeoutMs: 30_000 }, async (d) => {
      seen.push(d);
      if (seen.length === 1) await d.retry(0);
      else if (seen.length === 2) await d.release(1000);
      else await d.ack();
    });
    await waitFor(() => seen.length === 3, { ...longWait, what: 'three deliveries' });
    await sub.stop();
    expect(seen.map((d) => d.messageId)).toEqual([messageId, messageId, messageId]);
    expect(new Set(seen.map((d) => d.enqueuedAt)).size).toBe(1);
    expect(seen.map((d) => d.deliveryCount)).toEqual([1, 2, 2]);
  });

  it('takes an outside producer\'s record (kcat, no headers) with an id from its position, kept when it is handed back', async (ctx) => {
    if (mock === undefined) return ctx.skip(requireKcat()?.skip ?? 'no mock');
    const q = await open();
    const queue = `hqm-test-${randomUUID()}`;
    await q.publish(queue, { body: 'creates the topics' });
    kcatProduce(mock.brokers, queue, ['{"bare":true}']);
    const seen: Delivery[] = [];
    const sub = q.consume(queue, { concurrency: 2, visibilityTimeoutMs: 30_000 }, async (d) => {
      seen.push(d);
      if (d.body === '{"bare":true}' && seen.filter((s) => s.body === d.body).length === 1) await d.release();
      else await d.ack();
    });
    await waitFor(() => seen.filter((d) => d.body === '{"bare":true}').length === 2, { ...longWait, what: 'the bare record twice' });
    await sub.stop();
    const bare = seen.filter((d) => d.body === '{"bare":true}');
    expect(bare[0]?.messageId).toMatch(/^\d+-\d+$/);
    expect(bare[1]?.messageId).toBe(bare[0]?.messageId);
    expect(bare[1]?.enqueuedAt).toBe(bare[0]?.enqueuedAt);
    expect(Math.abs((bare[0]?.enqueuedAt ?? 0) - Date.now())).toBeLessThan(120_000);
  });

  it('commits only up to the lowest unfinished offset: after a crash the next owner gets the unfinished message back, and nothing below it', async (ctx) => {
    if (mock === undefined) return ctx.skip(requireKcat()?.skip ?? 'no mock');
    const queue = `hqm-test-${randomUUID()}`;
    const first = await open();
    // One key: one partition, in order.
    for (const body of ['a', 'b', 'c', 'd']) await first.publish(queue, { body, partitionKey: 'k' });
    const held: Delivery[] = [];
    const sub = first.consume(queue, { concurrency: 4, visibilityTimeoutMs: 30_000 }, async (d) => void held.push(d));
    await waitFor(() => held.length === 4, { ...longWait, what: 'four deliveries' });
    await sub.stop();
    const by = (body: string): Delivery => held.find((d) => d.body === body) as Delivery;
    // a finished, b running, c and d finished above it: only a can be committed.
    await by('a').ack();
    await by('c').ack();
    await by('d').ack();
    await waitFor(async () => (await first.stats(queue)).inFlight === 1, { what: 'b alone in flight' });
    await first.close(); // b's offset was never committed: the next member reads from it.
    const second = await open();
    const again: string[] = [];
    const sub2 = second.consume(queue, { concurrency: 4, visibilityTimeoutMs: 30_000 }, async (d) => {
      again.push(d.body);
      await d.ack();
    });
    await waitFor(() => again.length === 3, { ...longWait, what: 'b and what finished above it' });
    await sub2.stop();
    expect(again).toEqual(['b', 'c', 'd']);
  });

  it('with create_topics off, refuses to start when the default queue\'s topic is missing, with HQM_ERR_CONFIG naming it', async (ctx) => {
    if (mock === undefined) return ctx.skip(requireKcat()?.skip ?? 'no mock');
    const queue = `hqm-test-${randomUUID()}`;
    const error = await open({ create_topics: false, request_queue_name: queue }).catch((e: unknown) => e);
    expect(isHqmError(error) && error.code).toBe('HQM_ERR_CONFIG');
    expect((error as Error).message).toContain(`"${queue}"`);
    expect((error as Error).message).toContain('create_topics');
  });

  it('reads dead letters but refuses to remove, purge or replay one (HQM_ERR_UNSUPPORTED, 409)', async (ctx) => {
    if (mock === undefined) return ctx.skip(requireKcat()?.skip ?? 'no mock');
    const q = await open();
    const queue = `hqm-test-${randomUUID()}`;
    await q.publish(queue, { body: 'poison' });
    const sub = q.consume(queue, { concurrency: 1, visibilityTimeoutMs: 30_000 }, (d) => d.deadLetter('bad input'));
    const [dead] = await waitFor(async () => {
      const letters = await q.deadLetters(queue, { limit: 10 });
      return letters.length > 0 && letters;
    }, { ...longWait, what: 'the dead letter' });
    await sub.stop();
    expect(dead).toMatchObject({ body: 'poison', reason: 'bad input', attempts: 1 });
    expect(await q.getDeadLetter(queue, dead?.id ?? '')).toEqual(dead);
    expect((await q.browseDeadLetters(queue, { limit: 5 })).letters).toEqual([dead]);
    for (const refused of [q.removeDeadLetter(), q.purgeDeadLetters(), q.replayDeadLetter()]) {
      const error = await (refused as Promise<unknown>).catch((e: unknown) => e);
      expect(isHqmError(error) && error.code).toBe('HQM_ERR_UNSUPPORTED');
    }
  });

  it('reports not ready when its consumer is alive but no longer consuming', async (ctx) => {
    if (mock === undefined) return ctx.skip(requireKcat()?.skip ?? 'no mock');
    const q = await open();
    const queue = `hqm-test-${randomUUID()}`;
    await q.publish(queue, { body: 'one' });
    const seen: string[] = [];
    q.consume(queue, { concurrency: 1, visibilityTimeoutMs: 30_000 }, async (d) => {
      seen.push(d.body);
      await d.ack();
    });
    await waitFor(() => seen.length === 1, { ...longWait, what: 'the first delivery' });
    expect(await q.health()).toEqual({ ok: true });
    // The kafkajs consumer stops underneath (as after a bug or a lost group): the broker is fine.
    await q.consumerOf(queue)?.driver?.stop();
    const report = await waitFor(async () => {
      const health = await q.health();
      return !health.ok && health;
    }, { ...longWait, what: 'health to say so' });
    expect(report.detail).toMatch(/not consuming/);
  });

  it('hands in-flight work over in a rebalance: the new owner gets what moved, the old owner\'s late settles of it change nothing', async (ctx) => {
    if (mock === undefined) return ctx.skip(requireKcat()?.skip ?? 'no mock');
    const queue = `hqm-test-${randomUUID()}`;
    const a = await open();
    // Keys spread over the partitions, so some move when a second member joins.
    const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
    for (const key of keys) await a.publish(queue, { body: key, partitionKey: key });
    const heldByA: Delivery[] = [];
    a.consume(queue, { concurrency: 32, visibilityTimeoutMs: 30_000 }, async (d) => void heldByA.push(d));
    await waitFor(() => heldByA.length === keys.length, { ...longWait, what: 'the first member to hold every message' });
    const b = await open();
    const seenByB: Delivery[] = [];
    b.consume(queue, { concurrency: 32, visibilityTimeoutMs: 30_000 }, async (d) => void seenByB.push(d));
    // The rebalance gives B some partitions; it reads them from the committed offsets (nothing committed yet).
    await waitFor(() => seenByB.length > 0, { ...longWait, what: 'the second member to receive what moved' });
    await waitFor(async () => (await b.stats(queue)).inFlight === seenByB.length && seenByB.length > 0, { what: 'B settled in' });
    const moved = new Set(seenByB.map((d) => d.body));
    expect(moved.size).toBeLessThan(keys.length);
    // The old owner finishes everything it held: only what stayed with it is committed.
    for (const d of heldByA) await d.ack();
    await waitFor(async () => (await a.stats(queue)).inFlight === 0, { what: 'A settled' });
    // What moved is still B's to finish: its copies were not settled by A's late acks.
    expect((await b.stats(queue)).inFlight).toBe(moved.size);
    for (const d of seenByB) await d.ack();
    await waitFor(async () => {
      const stats = await b.stats(queue);
      return stats.depth === 0 && stats.inFlight === 0;
    }, { ...longWait, what: 'the queue to drain' });
    // Nothing came back to either: every message was delivered to B at most once.
    expect(new Set(seenByB.map((d) => d.messageId)).size).toBe(seenByB.length);
  });
});

/**
 * Webhook delivery on every backend that exists (memory, SQLite, Redis, Redis Cluster): the
 * retries are delayed queue messages and the failed ones the webhook queue's dead letters, so
 * both must work on each. Redis skips with a message when 127.0.0.1:6379 is unreachable.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookSender } from '../../src/adapters/http/undici/webhook-sender.js';
import { MemoryQueue } from '../../src/adapters/queue/memory/index.js';
import { factory as redisQueue } from '../../src/adapters/queue/redis/index.js';
import { factory as sqliteQueue } from '../../src/adapters/queue/sqlite/index.js';
import { MemoryResultStore } from '../../src/adapters/result-store/memory/index.js';
import { factory as redisStore } from '../../src/adapters/result-store/redis/index.js';
import { factory as sqliteStore } from '../../src/adapters/result-store/sqlite/index.js';
import { buildApi } from '../../src/api/build-api.js';
import { presentResult } from '../../src/api/present.js';
import { HqmEvents } from '../../src/core/events.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { QueueBackend } from '../../src/ports/queue-backend.js';
import type { ResultStore } from '../../src/ports/result-store.js';
import { builtinProcessor } from '../../src/worker/processors/builtin.js';
import { WorkerPool } from '../../src/worker/runner.js';
import { mayConnect } from '../../src/webhooks/address-policy.js';
import { WebhookDeliverer } from '../../src/webhooks/deliverer.js';
import { WebhookEnqueuer } from '../../src/webhooks/enqueue.js';
import { WebhookSigner } from '../../src/webhooks/sign.js';
import { apiOptions } from '../helpers/api.js';
import { deleteKeys, REDIS_URL, requireRedis, requireRedisServer, startRedisCluster, testPrefix, type RedisCluster } from '../helpers/redis.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { newSecret, WebhookReceiver } from '../helpers/webhook-receiver.js';

interface Backends {
  readonly queue: QueueBackend;
  readonly store: ResultStore;
}

const context = { logger: silentLogger };
const dir = tempDir();
const prefix = testPrefix();
let cluster: Promise<RedisCluster> | undefined;

afterAll(async () => {
  await deleteKeys(prefix, { url: REDIS_URL }).catch(() => undefined);
  if (cluster !== undefined) await (await cluster).stop();
});

function describeWebhooks(name: string, open: () => Promise<Backends | { skip: string }>): void {
  describe(`webhooks on ${name}`, () => {
    let skip: string | undefined;
    const cleanup: Array<() => Promise<unknown>> = [];
    beforeAll(async () => {
      const probe = await open();
      if ('skip' in probe) skip = probe.skip;
      else await Promise.all([probe.queue.close(), probe.store.close()]);
    });
    afterEach(async () => {
      for (const step of cleanup.splice(0).reverse()) await step();
    });

    async function start() {
      const backends = await open();
      if ('skip' in backends) throw new Error(backends.skip);
      const { queue, store } = backends;
      const requests = `hqm-test-${randomUUID()}`;
      const webhooks = `${requests}.webhooks`;
      const secret = newSecret();
      const receiver = await new WebhookReceiver([secret]).start();
      const events = new HqmEvents();
      const app = await buildApi({ queue, store, events, options: apiOptions({ queues: new Map([['default', requests]]), webhooks: { enabled: true, policy: { allowPrivate: true, allowedHosts: [] }, queueName: webhooks, scanLimit: 1000 } }) });
      const enqueuer = new WebhookEnqueuer({ queue, store, present: presentResult, logger: silentLogger }, { queueName: webhooks, defaultUrl: null, maxBodyBytes: 65_536 });
      const pool = new WorkerPool(
        { queue, store, events, processor: builtinProcessor, logger: silentLogger },
        { queueName: requests, concurrency: 2, visibilityTimeoutMs: 30_000, shutdownGraceMs: 1000, workerId: 'w', retry: { maxAttempts: 1, baseMs: 0, maxMs: 0 }, defaultTimeoutSeconds: 300, ttlMs: 3_600_000, onTerminal: enqueuer.onTerminal },
      );
      const sender = await createWebhookSender({ mayConnect: mayConnect({ allowPrivate: true, allowedHosts: [] }), maxConnections: 2 });
      const deliverer = new WebhookDeliverer(
        { queue, store, sender, signer: new WebhookSigner([secret]), logger: silentLogger },
        { queueName: webhooks, concurrency: 2, timeoutMs: 5000, retry: { maxAttempts: 3, baseMs: 50, maxMs: 100 }, visibilityTimeoutMs: 30_000, userAgent: 'test' },
      );
      pool.start();
      deliverer.start();
      cleanup.push(() => store.close(), () => queue.close(), () => sender.close(), () => app.close(), () => pool.stop(), () => deliverer.stop());
      const submit = async (payload: object, metadata: object): Promise<string> => {
        const res = await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload, metadata } });
        expect(res.statusCode, res.body).toBe(202);
        return res.json<{ correlation_id: string }>().correlation_id;
      };
      const states = async (id: string): Promise<unknown[]> => (await store.events(id)).flatMap((e) => (e.note?.kind === 'webhook' ? [e.note.detail.state] : []));
      return { app, receiver, submit, states };
    }

    it('retries a 500 as a delayed message and delivers each ending once, under one id', async (ctx) => {
      if (skip !== undefined) return ctx.skip(skip);
      const { receiver, submit, states } = await start();
      receiver.program.push({ status: 500 });
      const completed = await submit({ operation: 'echo' }, { callback_url: receiver.url });
      const failed = await submit({ operation: 'error' }, { callback_url: receiver.url });
      for (const id of [completed, failed]) await waitFor(async () => (await states(id)).includes('delivered'), { what: `the webhook of ${id}`, timeoutMs: 15_000 });
      const calls = [...receiver.callsFor(completed), ...receiver.callsFor(failed)];
      expect(calls.every((c) => c.verifiedBy.length === 1)).toBe(true);
      expect(new Set(receiver.callsFor(completed).map((c) => c.id)).size).toBe(1);
      expect(receiver.callsFor(failed).map((c) => c.body.event)).toEqual(receiver.callsFor(failed).map(() => 'request.failed'));
      // One of the two got the 500 and was retried; the other went through at once.
      expect(calls).toHaveLength(3);
    });

    it('dead-letters a refused webhook on the webhook queue, lists it and redelivers it', async (ctx) => {
      if (skip !== undefined) return ctx.skip(skip);
      const { app, receiver, submit, states } = await start();
      receiver.program.push({ status: 422 });
      const id = await submit({ operation: 'echo' }, { callback_url: receiver.url });
      await waitFor(async () => (await states(id)).includes('failed'), { what: 'the failed delivery' });
      const list = await waitFor(async () => {
        const body = (await app.inject({ method: 'GET', url: '/api/v1/webhook-deliveries?status=failed' })).json<{ deliveries: Array<{ id: string; correlation_id: string }> }>();
        return body.deliveries.length > 0 ? body.deliveries : undefined;
      });
      expect(list.map((d) => d.correlation_id)).toEqual([id]);
      expect((await app.inject({ method: 'POST', url: `/api/v1/webhook-deliveries/${list[0]?.id ?? ''}/redeliver` })).statusCode).toBe(202);
      await waitFor(async () => (await states(id)).includes('delivered'), { what: 'the redelivery' });
      expect(await states(id)).toEqual(['queued', 'failed', 'redelivered', 'delivered']);
    });
  });
}

describeWebhooks('memory', async () => ({ queue: new MemoryQueue(silentLogger), store: new MemoryResultStore() }));

describeWebhooks('sqlite', async () => {
  const path = join(dir, 'webhooks.db');
  return { queue: await sqliteQueue.create({ path }, context), store: await sqliteStore.create({ path }, context) };
});

describeWebhooks('redis', async () => {
  const missing = await requireRedis();
  if (missing !== undefined) return missing;
  return { queue: await redisQueue.create({ redis_url: REDIS_URL, key_prefix: prefix }, context), store: await redisStore.create({ redis_url: REDIS_URL, key_prefix: prefix }, context) };
});

describeWebhooks('redis cluster', async () => {
  const missing = await requireRedisServer();
  if (missing !== undefined) return missing;
  cluster ??= startRedisCluster(join(dir, 'cluster'));
  const options = { redis_url: (await cluster).url, cluster: true, key_prefix: prefix };
  return { queue: await redisQueue.create(options, context), store: await redisStore.create(options, context) };
});

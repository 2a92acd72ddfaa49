/**
 * A webhook's attempts are counted by its messages, not by the broker (D177): on a queue whose
 * `deliveryCount` also counts hand-backs (NATS, SQS, Pub/Sub count every release) or counts
 * nothing, a webhook still gets exactly `max_attempts` calls, numbered 1, 2, 3 in its trail, and
 * then fails for good. The queue here is the memory queue behind a wrapper that hands every
 * message back a few times before the deliverer sees it (as consumers that stop or receive it
 * too early would) and reports the count the way such a broker would.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createWebhookSender } from '../../src/adapters/http/undici/webhook-sender.js';
import { MemoryQueue } from '../../src/adapters/queue/memory/index.js';
import { MemoryResultStore } from '../../src/adapters/result-store/memory/index.js';
import { newRequest } from '../../src/conformance/index.js';
import { encodeWebhookMessage, webhookIdFor } from '../../src/core/webhooks/message.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { Delivery, DeliveryHandler, QueueBackend } from '../../src/ports/queue-backend.js';
import { mayConnect } from '../../src/webhooks/address-policy.js';
import { listFailedDeliveries } from '../../src/webhooks/admin.js';
import { WebhookDeliverer } from '../../src/webhooks/deliverer.js';
import { WebhookSigner } from '../../src/webhooks/sign.js';
import { waitFor } from '../helpers/wait.js';
import { newSecret, WebhookReceiver } from '../helpers/webhook-receiver.js';

const WEBHOOK_QUEUE = 'hooks';
const HAND_BACKS = 4;

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

type Counting = 'every-delivery' | 'none';

/** The memory queue as a broker that counts `counting`: each message is handed back HAND_BACKS times before the consumer sees it. */
function countingQueue(inner: MemoryQueue, counting: Counting): QueueBackend {
  const deliveries = new Map<string, number>();
  const capabilities = { ...inner.capabilities, deliveryCounting: counting };
  const consume = (queue: string, options: Parameters<QueueBackend['consume']>[1], handler: DeliveryHandler) =>
    inner.consume(queue, options, async (d) => {
      const seen = (deliveries.get(d.messageId) ?? 0) + 1;
      deliveries.set(d.messageId, seen);
      if (seen <= HAND_BACKS) return d.release();
      const shown: Delivery = {
        messageId: d.messageId,
        body: d.body,
        deliveryCount: counting === 'none' ? 1 : seen,
        priority: d.priority,
        partitionKey: d.partitionKey,
        enqueuedAt: d.enqueuedAt,
        ack: () => d.ack(),
        retry: (ms) => d.retry(ms),
        release: (ms) => d.release(ms),
        deadLetter: (reason) => d.deadLetter(reason),
        extend: (ms) => d.extend(ms),
      };
      return handler(shown);
    });
  // Everything else is the memory queue's own (bound to it: its fields are private).
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'capabilities') return capabilities;
      if (property === 'consume') return consume;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

interface Setup {
  readonly receiver: WebhookReceiver;
  readonly queue: QueueBackend;
  readonly store: MemoryResultStore;
  readonly deliverer: WebhookDeliverer;
  readonly id: string;
  /** A first message of the request's completion webhook, with `extra` fields. */
  message(extra?: Readonly<Record<string, unknown>>): string;
  notes(): Promise<Array<Record<string, unknown>>>;
}

async function setup(counting: Counting | null): Promise<Setup> {
  const secret = newSecret();
  const receiver = await new WebhookReceiver([secret]).start();
  const memory = new MemoryQueue(silentLogger);
  const queue = counting === null ? memory : countingQueue(memory, counting);
  const store = new MemoryResultStore();
  const sender = await createWebhookSender({ mayConnect: mayConnect({ allowPrivate: true, allowedHosts: [] }), maxConnections: 2 });
  const deliverer = new WebhookDeliverer(
    { queue, store, sender, signer: new WebhookSigner([secret]), logger: silentLogger },
    { queueName: WEBHOOK_QUEUE, concurrency: 2, timeoutMs: 5000, retry: { maxAttempts: 3, baseMs: 10, maxMs: 20 }, visibilityTimeoutMs: 30_000, userAgent: 'test' },
  );
  cleanup.push(() => memory.close(), () => store.close(), () => sender.close(), () => deliverer.stop());
  const { id } = await store.create(newRequest());
  const webhookId = webhookIdFor(id, 'request.completed', Date.now());
  return {
    receiver,
    queue,
    store,
    deliverer,
    id,
    message: (extra = {}) =>
      encodeWebhookMessage({ v: 1, kind: 'webhook', webhook_id: webhookId, correlation_id: id, event: 'request.completed', url: receiver.url, body: '{"event":"request.completed"}', tenant: null, created_at: Date.now(), attempt: 1, ...extra }),
    notes: async () => (await store.events(id)).flatMap((e) => (e.note?.kind === 'webhook' ? [e.note.detail] : [])),
  };
}

describe('webhook attempts', () => {
  it.each<[string, Counting]>([
    ['counts every hand-back', 'every-delivery'],
    ['counts nothing', 'none'],
  ])('on a broker that %s, a failing webhook gets exactly max_attempts calls, numbered by its messages', async (_title, counting) => {
    const s = await setup(counting);
    s.receiver.program.push(...Array.from({ length: 10 }, () => ({ status: 500 })));
    await s.queue.publish(WEBHOOK_QUEUE, { body: s.message() });
    s.deliverer.start();
    await waitFor(async () => (await s.notes()).some((n) => n.state === 'failed'), { what: 'the webhook to fail for good' });
    expect(s.receiver.calls).toHaveLength(3);
    expect((await s.notes()).map((n) => [n.state, n.attempt])).toEqual([
      ['retrying', 1],
      ['retrying', 2],
      ['failed', 3],
    ]);
    const failed = await listFailedDeliveries({ queue: s.queue, store: s.store, queueName: WEBHOOK_QUEUE, scanLimit: 100 }, { limit: 10 });
    expect(failed.deliveries).toMatchObject([{ attempts: 3, reason: expect.stringMatching(/after 3 attempts/) }]);
  });

  it('hands back, uncounted, a message delivered before its due time (a queue whose delays are shorter than the backoff)', async () => {
    const s = await setup(null);
    const dueAt = Date.now() + 400;
    // Published without a delay, as a queue that cannot delay that long would deliver it.
    await s.queue.publish(WEBHOOK_QUEUE, { body: s.message({ attempt: 2, due_at: dueAt }) });
    s.deliverer.start();
    // An absence: nothing is sent until shortly before it is due.
    await waitFor(() => Date.now() >= dueAt - 100, { what: 'shortly before the due time' });
    expect(s.receiver.calls).toHaveLength(0);
    await waitFor(async () => (await s.notes()).some((n) => n.state === 'delivered'), { what: 'the webhook' });
    expect(s.receiver.calls).toHaveLength(1);
    expect((await s.notes()).map((n) => [n.state, n.attempt])).toEqual([['delivered', 2]]);
  });
});

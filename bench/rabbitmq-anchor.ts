/**
 * The RabbitMQ anchor, run as its own Node process by the RabbitMQ bench: the same client the
 * adapter uses (rabbitmq-client) on the same broker, doing what the adapter does without anything
 * else — persistent publishes to a quorum queue with publisher confirms, 64 in flight, while a
 * consumer with a prefetch of 64 acknowledges each message; then, on a fresh queue, publishing
 * alone and consuming alone. Prints one JSON line with the rates. The queues are deleted after.
 *
 * Env: RABBITMQ_URL, QUEUE_PREFIX, JOBS, IN_FLIGHT.
 */
import { Connection } from 'rabbitmq-client';

const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const prefix = process.env.QUEUE_PREFIX ?? 'hqm-bench-anchor.';
const jobs = Number(process.env.JOBS ?? 20_000);
const inFlight = Number(process.env.IN_FLIGHT ?? 64);
const body = Buffer.from(JSON.stringify({ v: 1, correlation_id: '00000000-0000-4000-8000-000000000000', payload: { operation: 'echo', data: 'benchmark payload' }, metadata: { priority: 0, timeout: 300 } }));

const conn = new Connection({ url, frameMax: 131_072, noDelay: true });
await conn.onConnect(10_000);

async function declare(queue: string): Promise<void> {
  const ch = await conn.acquire();
  await ch.queueDeclare({ queue, durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await ch.close();
}

async function publishAll(queue: string): Promise<void> {
  const ch = await conn.acquire();
  await ch.confirmSelect();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < jobs) {
        next += 1;
        await ch.basicPublish({ routingKey: queue, durable: true, messageId: String(next) }, body);
      }
    }),
  );
  await ch.close();
}

/** Consumes until `jobs` messages were acknowledged; resolves with the seconds from `started()`. */
async function consumeAll(queue: string, started: () => number): Promise<number> {
  const ch = await conn.acquire();
  await ch.basicQos({ prefetchCount: inFlight });
  let acked = 0;
  const done = new Promise<number>((resolve) => {
    void ch.basicConsume({ queue }, (msg) => {
      ch.basicAck({ deliveryTag: msg.deliveryTag });
      acked += 1;
      if (acked === jobs) resolve((performance.now() - started()) / 1000);
    });
  });
  const seconds = await done;
  await ch.close();
  return seconds;
}

async function remove(queue: string): Promise<void> {
  const ch = await conn.acquire();
  await ch.queueDelete({ queue });
  await ch.close();
}

const both = `${prefix}both`;
await declare(both);
const t0 = performance.now();
const consumed = consumeAll(both, () => t0);
await publishAll(both);
const combined = jobs / (await consumed);
await remove(both);

const apart = `${prefix}apart`;
await declare(apart);
const t1 = performance.now();
await publishAll(apart);
const publishes = jobs / ((performance.now() - t1) / 1000);
const t2 = performance.now();
const consuming = jobs / (await consumeAll(apart, () => t2));
await remove(apart);
await conn.close();
process.stdout.write(`${JSON.stringify({ combined, publishes, consuming })}\n`);

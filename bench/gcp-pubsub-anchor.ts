/**
 * The Pub/Sub anchor, run as its own Node process by the Pub/Sub bench: Google's client (the
 * package the adapter uses, here through its high-level API: batched publishes and a streaming
 * pull with flow control) on the same emulator, doing nothing else — publishes, 64 in flight,
 * while a streaming subscriber with 64 outstanding acknowledges each message; then, on a fresh
 * topic, publishing alone and consuming alone. Prints one JSON line with the rates. Its topics and
 * subscriptions are deleted after.
 *
 * Env: PUBSUB_ENDPOINT (host:port of the emulator), TOPIC_PREFIX, JOBS, IN_FLIGHT.
 */
import { PubSub, type Message } from '@google-cloud/pubsub';

const endpoint = process.env.PUBSUB_ENDPOINT ?? '127.0.0.1:8085';
const prefix = process.env.TOPIC_PREFIX ?? 'hqm-bench-anchor.';
const jobs = Number(process.env.JOBS ?? 20_000);
const inFlight = Number(process.env.IN_FLIGHT ?? 64);
const body = Buffer.from(JSON.stringify({ v: 1, correlation_id: '00000000-0000-4000-8000-000000000000', payload: { operation: 'echo', data: 'benchmark payload' }, metadata: { priority: 0, timeout: 300 } }));

const pubsub = new PubSub({ projectId: 'hqm-bench', apiEndpoint: endpoint });

async function declare(name: string) {
  const [topic] = await pubsub.createTopic(name);
  const [subscription] = await topic.createSubscription(`${name}.work`, { ackDeadlineSeconds: 60 });
  return { topic, subscription };
}

async function publishAll(name: string): Promise<void> {
  const topic = pubsub.topic(name);
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < jobs) {
        next += 1;
        await topic.publishMessage({ data: body, attributes: { n: String(next) } });
      }
    }),
  );
  await topic.flush();
}

/** Consumes until `jobs` messages were acknowledged; resolves with the seconds from `started()`. */
async function consumeAll(name: string, started: () => number): Promise<number> {
  const subscription = pubsub.subscription(`${name}.work`, { flowControl: { maxMessages: inFlight, allowExcessMessages: false } });
  let acked = 0;
  const seconds = await new Promise<number>((resolve, reject) => {
    subscription.on('error', reject);
    subscription.on('message', (message: Message) => {
      message.ack();
      acked += 1;
      if (acked === jobs) resolve((performance.now() - started()) / 1000);
    });
  });
  await subscription.close();
  return seconds;
}

async function remove(name: string): Promise<void> {
  await pubsub.subscription(`${name}.work`).delete();
  await pubsub.topic(name).delete();
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
await pubsub.close();
process.stdout.write(`${JSON.stringify({ combined, publishes, consuming })}\n`);

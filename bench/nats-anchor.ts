/**
 * The NATS JetStream anchor, run as its own Node process by the NATS bench: the same client
 * OpenHQM uses (@nats-io/transport-node + @nats-io/jetstream), used directly the way its docs
 * show — a work-queue stream, a durable pull consumer read with `consume()`, an explicit ack per
 * message. One process publishes trivial messages with 64 publishes in flight while the consumer
 * acks them, timed until every one is acked; then, on a fresh stream, publishing alone and
 * consuming alone. Prints one JSON line with the rates.
 *
 * Env: NATS_URL, STREAM_PREFIX (streams made here start with it; deleted before exit), JOBS, IN_FLIGHT.
 */
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const prefix = process.env.STREAM_PREFIX ?? 'HQMBENCH';
const jobs = Number(process.env.JOBS ?? 20_000);
const inFlight = Number(process.env.IN_FLIGHT ?? 64);

const nc = await connect({ servers: url });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
const payload = JSON.stringify({ data: 'benchmark payload' });

async function setUp(name: string): Promise<string> {
  const stream = `${prefix}_${name}`;
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.${name}`], retention: RetentionPolicy.Workqueue });
  await jsm.consumers.add(stream, { durable_name: 'bench', ack_policy: AckPolicy.Explicit, max_ack_pending: inFlight * 4 });
  return stream;
}

async function publishAll(name: string): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < jobs) {
        next += 1;
        await js.publish(`${prefix}.${name}`, payload);
      }
    }),
  );
}

/** Consumes until `jobs` messages were acked; resolves when the last ack was confirmed by a flush. */
async function consumeAll(stream: string): Promise<void> {
  const consumer = await js.consumers.get(stream, 'bench');
  const messages = await consumer.consume({ max_messages: inFlight });
  let acked = 0;
  for await (const message of messages) {
    JSON.parse(message.string());
    message.ack();
    acked += 1;
    if (acked >= jobs) break;
  }
  await nc.flush();
}

async function both(): Promise<number> {
  const stream = await setUp('both');
  const t0 = performance.now();
  await Promise.all([publishAll('both'), consumeAll(stream)]);
  return jobs / ((performance.now() - t0) / 1000);
}

async function separately(): Promise<{ publishes: number; consuming: number }> {
  const stream = await setUp('separately');
  const t0 = performance.now();
  await publishAll('separately');
  const publishes = jobs / ((performance.now() - t0) / 1000);
  const t1 = performance.now();
  await consumeAll(stream);
  return { publishes, consuming: jobs / ((performance.now() - t1) / 1000) };
}

try {
  const combined = await both();
  const { publishes, consuming } = await separately();
  process.stdout.write(`${JSON.stringify({ combined, publishes, consuming })}\n`);
} finally {
  for (const name of ['both', 'separately']) await jsm.streams.delete(`${prefix}_${name}`).catch(() => false);
  await nc.close();
}

/**
 * The kafkajs anchor, run as its own Node process by the Kafka bench: the same client OpenHQM
 * uses, raw, on the same mock cluster. One process produces trivial records (one per send,
 * 64 sends in flight, acks from all replicas, as OpenHQM publishes) while a consumer group member
 * reads them (eachMessage, offsets auto-committed), timed until every record was consumed; then,
 * on a fresh topic, producing alone and consuming alone. Prints one JSON line with the rates.
 *
 * Env: KAFKA_BROKERS (comma-separated), JOBS, IN_FLIGHT.
 */
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';

const { Kafka, logLevel, Partitioners } = kafkajs;
const brokers = (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',');
const jobs = Number(process.env.JOBS ?? 20_000);
const inFlight = Number(process.env.IN_FLIGHT ?? 64);

const kafka = new Kafka({ brokers, clientId: 'kafkajs-anchor', logLevel: logLevel.ERROR });
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
const admin = kafka.admin();
await Promise.all([producer.connect(), admin.connect()]);

async function produceAll(topic: string): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < jobs) {
        next += 1;
        await producer.send({ topic, acks: -1, messages: [{ value: JSON.stringify({ data: 'benchmark payload', n: next }) }] });
      }
    }),
  );
}

/** Consumes `topic` until `jobs` records were read; resolves with the seconds since `started()`. */
async function consumeAll(topic: string, started: () => number): Promise<number> {
  const consumer = kafka.consumer({ groupId: `anchor-${randomUUID()}`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let read = 0;
  let allRead!: () => void;
  const done = new Promise<void>((resolve) => (allRead = resolve));
  await consumer.run({
    partitionsConsumedConcurrently: 4,
    eachMessage: async ({ message }) => {
      JSON.parse(message.value?.toString() ?? '{}');
      read += 1;
      if (read >= jobs) allRead();
    },
  });
  await done;
  const seconds = (performance.now() - started()) / 1000;
  await consumer.disconnect();
  return seconds;
}

async function topic(): Promise<string> {
  const name = `anchor-${randomUUID()}`;
  // Auto-created with the cluster's default partitions (librdkafka's mock: 4).
  await admin.fetchTopicMetadata({ topics: [name] });
  return name;
}

async function both(): Promise<number> {
  const name = await topic();
  let t0 = 0;
  // The consumer joins its group first (the mock delays a first join by 3 s), then the clock starts.
  const consumed = consumeAll(name, () => t0);
  await new Promise((resolve) => setTimeout(resolve, 4000));
  t0 = performance.now();
  await produceAll(name);
  return jobs / (await consumed);
}

async function separately(): Promise<{ produced: number; consumed: number }> {
  const name = await topic();
  const t0 = performance.now();
  await produceAll(name);
  const produced = jobs / ((performance.now() - t0) / 1000);
  // Without the group join's 3 s: the clock starts at the first record.
  let t1 = 0;
  const consumer = kafka.consumer({ groupId: `anchor-${randomUUID()}`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topics: [name], fromBeginning: true });
  let read = 0;
  let allRead!: () => void;
  const done = new Promise<void>((resolve) => (allRead = resolve));
  await consumer.run({
    partitionsConsumedConcurrently: 4,
    eachMessage: async ({ message }) => {
      if (t1 === 0) t1 = performance.now();
      JSON.parse(message.value?.toString() ?? '{}');
      read += 1;
      if (read >= jobs) allRead();
    },
  });
  await done;
  const consumed = jobs / ((performance.now() - t1) / 1000);
  await consumer.disconnect();
  return { produced, consumed };
}

const combined = await both();
const { produced, consumed } = await separately();
await Promise.all([producer.disconnect(), admin.disconnect()]);
process.stdout.write(`${JSON.stringify({ combined, produced, consumed })}\n`);

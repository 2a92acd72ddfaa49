/**
 * The BullMQ anchor, run as its own Node process by the Redis bench: what most users would
 * pick for "a queue on Redis". One process adds trivial jobs with 64 adds in flight while a
 * Worker with concurrency 64 processes them, timed until every job is completed; then, on a
 * fresh queue, adding alone and processing alone. Prints one JSON line with the rates.
 *
 * Env: REDIS_URL, BULLMQ_PREFIX (key prefix, deleted by the caller), JOBS, IN_FLIGHT.
 */
import { Queue, Worker, type ConnectionOptions } from 'bullmq';

const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const connection: ConnectionOptions = { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
const prefix = process.env.BULLMQ_PREFIX ?? 'bullmq-bench';
const jobs = Number(process.env.JOBS ?? 20_000);
const inFlight = Number(process.env.IN_FLIGHT ?? 64);

async function addAll(queue: Queue): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < jobs) {
        next += 1;
        await queue.add('echo', { data: 'benchmark payload', n: next });
      }
    }),
  );
}

/** Resolves with the elapsed seconds once `jobs` jobs have completed on this worker. */
function worker(name: string, started: () => number): { done: Promise<number>; worker: Worker } {
  let completed = 0;
  let finish!: (seconds: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));
  const w = new Worker(name, async (job) => ({ output: (job.data as { data: string }).data }), { connection, prefix, concurrency: inFlight });
  w.on('completed', () => {
    completed += 1;
    if (completed === jobs) finish((performance.now() - started()) / 1000);
  });
  return { done, worker: w };
}

async function both(): Promise<number> {
  const queue = new Queue('both', { connection, prefix });
  await queue.waitUntilReady();
  let t0 = 0;
  const w = worker('both', () => t0);
  await w.worker.waitUntilReady();
  t0 = performance.now();
  await addAll(queue);
  const seconds = await w.done;
  await w.worker.close();
  await queue.close();
  return jobs / seconds;
}

async function separately(): Promise<{ adds: number; processing: number }> {
  const queue = new Queue('separately', { connection, prefix });
  await queue.waitUntilReady();
  const t0 = performance.now();
  await addAll(queue);
  const adds = jobs / ((performance.now() - t0) / 1000);
  let t1 = 0;
  const w = worker('separately', () => t1);
  t1 = performance.now();
  const seconds = await w.done;
  await w.worker.close();
  await queue.close();
  return { adds, processing: jobs / seconds };
}

const combined = await both();
const { adds, processing } = await separately();
process.stdout.write(`${JSON.stringify({ combined, adds, processing })}\n`);

/**
 * The pg-boss anchor, run as its own Node process by the PostgreSQL bench: what most users would
 * pick for "a queue on PostgreSQL". One process sends trivial jobs with 64 sends in flight while
 * workers with 64 jobs in flight between them work them, timed until every job is `completed`
 * in the database; then, on a fresh queue, sending alone and working alone. Prints one JSON line
 * with the rates.
 *
 * pg-boss 10 workers poll (every 0.5 s at the least) and take a batch per fetch. Polling would
 * make the figure the interval rather than the database, so the workers are woken the way an
 * in-process producer can (`notifyWorker`): after each send, and after each non-empty batch, so a
 * worker sleeps only on an empty fetch. That makes the anchor faster, never slower, than pg-boss
 * as it ships: the bar OpenHQM is held to is not lowered by it.
 *
 * Env: POSTGRES_URL, PGBOSS_SCHEMA (created by pg-boss, dropped by the caller), JOBS, IN_FLIGHT.
 */
import PgBoss from 'pg-boss';

const connectionString = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = process.env.PGBOSS_SCHEMA ?? 'pgboss_bench';
const jobs = Number(process.env.JOBS ?? 20_000);
const inFlight = Number(process.env.IN_FLIGHT ?? 64);
/** Four polling workers share the jobs in flight: one fetch at a time each, the others' batches run meanwhile. */
const WORKERS = 4;
const batchSize = Math.max(1, Math.floor(inFlight / WORKERS));

// Cron scheduling is not under test; maintenance (supervise) stays as shipped.
const boss = new PgBoss({ connectionString, schema, schedule: false });
boss.on('error', (error) => process.stderr.write(`pg-boss: ${error instanceof Error ? error.message : String(error)}\n`));
await boss.start();

async function sendAll(queue: string, wake: () => void): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < jobs) {
        next += 1;
        await boss.send(queue, { data: 'benchmark payload', n: next });
        wake();
      }
    }),
  );
}

/**
 * Starts the workers of `queue`; `done` resolves with the elapsed seconds once every job has been
 * worked and pg-boss has marked it completed (it settles a batch after the handler, unawaited).
 */
async function work(queue: string, started: () => number): Promise<{ done: Promise<number>; wake: () => void }> {
  let worked = 0;
  const ids: string[] = [];
  let allWorked!: () => void;
  const handled = new Promise<void>((resolve) => (allWorked = resolve));
  for (let w = 0; w < WORKERS; w += 1) {
    let id = '';
    id = await boss.work<{ data: string }>(queue, { batchSize, pollingIntervalSeconds: 0.5 }, async (batch) => {
      // Fetch again at once while there is work: sleep only on an empty fetch.
      if (batch.length > 0 && id !== '') boss.notifyWorker(id);
      const outputs = batch.map((job) => ({ output: job.data.data }));
      worked += outputs.length;
      if (worked >= jobs) allWorked();
      return outputs;
    });
    ids.push(id);
  }
  const done = handled.then(async () => {
    while ((await boss.getQueueSize(queue, { before: 'completed' })) > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    return (performance.now() - started()) / 1000;
  });
  return { done, wake: () => ids.forEach((id) => boss.notifyWorker(id)) };
}

async function both(): Promise<number> {
  await boss.createQueue('both');
  let t0 = 0;
  const workers = await work('both', () => t0);
  t0 = performance.now();
  await sendAll('both', workers.wake);
  const seconds = await workers.done;
  await boss.offWork('both');
  return jobs / seconds;
}

async function separately(): Promise<{ sends: number; working: number }> {
  await boss.createQueue('separately');
  const t0 = performance.now();
  await sendAll('separately', () => undefined);
  const sends = jobs / ((performance.now() - t0) / 1000);
  const t1 = performance.now();
  const workers = await work('separately', () => t1);
  const seconds = await workers.done;
  await boss.offWork('separately');
  return { sends, working: jobs / seconds };
}

const combined = await both();
const { sends, working } = await separately();
await boss.stop({ graceful: false, wait: true });
process.stdout.write(`${JSON.stringify({ combined, sends, working })}\n`);

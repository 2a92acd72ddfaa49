/**
 * Named queues through the real CLI on one SQLite file (issue 11 item 7): queues weighted
 * 3/2/1 sharing a worker's slots under contention start requests about 3:2:1, and a queue
 * with concurrency 1 never runs two at once while the rest of the pool is busy. Both are read
 * from the store's audit trail in commit order and from the processor's own view, not clocks.
 */
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { finished, startCli, type CliProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const MODULE = fileURLToPath(new URL('../fixtures/queue-processor.mjs', import.meta.url));

interface TrailRow {
  seq: number;
  queue: string;
  from_status: string | null;
  to_status: string;
}

describe('named queues', () => {
  const dir = tempDir();

  /** Writes a config file on its own database, runs `body` with the processes it starts, and kills them. */
  async function withConfig(name: string, config: Record<string, unknown>, body: (db: string, file: string, started: CliProcess[]) => Promise<void>): Promise<void> {
    const db = join(dir, `${name}.db`);
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, JSON.stringify({ sqlite: { path: db }, api: { max_event_loop_delay_ms: 0, max_queue_depth: 0 }, ...config }));
    const started: CliProcess[] = [];
    try {
      await body(db, file, started);
    } finally {
      for (const p of started) p.kill('SIGKILL');
    }
  }

  it('fills contended slots by weight: 3/2/1 start about 3:2:1', async () => {
    const PER_QUEUE = 300;
    const MEASURED = 300;
    await withConfig(
      'weights',
      { queues: { high: { weight: 3 }, default: { weight: 2 }, batched: { weight: 1 } }, worker: { count: 4, processor_module: MODULE, shutdown_grace_seconds: 0 } },
      async (db, file, started) => {
        const api = await startCli(['api', '--config', file]).ready();
        started.push(api);
        // Every queue has a backlog before any worker runs, so every slot is contended.
        const requests = ['high', 'default', 'batched'].flatMap((queue) => Array.from({ length: PER_QUEUE }, () => ({ payload: { ms: 30 }, metadata: { queue } })));
        const res = await fetch(`${api.url}/api/v1/submit/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ requests }) });
        expect(res.status, await res.clone().text()).toBe(202);
        started.push(await startCli(['worker', '--config', file]).ready());
        const store = new Database(db, { readonly: true, fileMustExist: true });
        try {
          const claims = (): TrailRow[] =>
            store
              .prepare<[], TrailRow>(
                `SELECT e.seq, r.queue, e.from_status, e.to_status FROM hqm_request_events e JOIN hqm_requests r ON r.id = e.request_id
                 WHERE e.to_status = 'PROCESSING' AND e.from_status = 'PENDING' ORDER BY e.seq`,
              )
              .all();
          await waitFor(() => claims().length >= MEASURED, { timeoutMs: 120_000, intervalMs: 100, what: `${MEASURED} requests to start` });
          const first = claims().slice(0, MEASURED);
          const share = (queue: string): number => first.filter((c) => c.queue === queue).length;
          // Within the first 300 starts no queue ran out of work (the heaviest takes about 150 of its 300).
          const expected = { high: MEASURED / 2, default: MEASURED / 3, batched: MEASURED / 6 };
          for (const [queue, want] of Object.entries(expected)) {
            const got = share(queue);
            expect(got, `${queue}: ${got} of ${MEASURED} starts, expected ${want} ±15%`).toBeGreaterThanOrEqual(want * 0.85);
            expect(got, `${queue}: ${got} of ${MEASURED} starts, expected ${want} ±15%`).toBeLessThanOrEqual(want * 1.15);
          }
          // The queues' counts as the admin endpoint reports them.
          const listing = (await (await fetch(`${api.url}/api/v1/queues`)).json()) as { queues: Array<{ name: string; backend_queue: string; depth: number }> };
          expect(listing.queues.map((q) => [q.name, q.backend_queue])).toEqual([
            ['high', 'openhqm-requests.high'],
            ['default', 'openhqm-requests'],
            ['batched', 'openhqm-requests.batched'],
          ]);
          expect(listing.queues.every((q) => q.depth > 0)).toBe(true);
        } finally {
          store.close();
        }
      },
    );
  }, 240_000);

  it('never runs two requests of a concurrency-1 queue at once, while the rest of the pool is used', async () => {
    await withConfig(
      'pool',
      { queues: { batched: { concurrency: 1 } }, worker: { count: 4, processor_module: MODULE } },
      async (db, file, started) => {
        const server = await startCli(['start', '--config', file]).ready();
        started.push(server);
        const submitAll = (queue: string, n: number) =>
          Promise.all(
            Array.from({ length: n }, async () => {
              const res = await fetch(`${server.url}/api/v1/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload: { ms: 50 }, metadata: { queue } }) });
              return ((await res.json()) as { correlation_id: string }).correlation_id;
            }),
          );
        const [batched, plain] = await Promise.all([submitAll('batched', 12), submitAll('default', 12)]);
        const results = await Promise.all([...batched, ...plain].map((id) => finished(server.url, id, 60_000)));
        const ranWith = (queue: string) => results.filter((r) => (r.result as { queue: string }).queue === queue).map((r) => (r.result as { running_with: number }).running_with);
        expect(results.every((r) => r.status === 'COMPLETED')).toBe(true);
        expect(ranWith('batched')).toEqual(Array.from({ length: 12 }, () => 1));
        const store = new Database(db, { readonly: true, fileMustExist: true });
        try {
          const trail = store
            .prepare<[], TrailRow>('SELECT e.seq, r.queue, e.from_status, e.to_status FROM hqm_request_events e JOIN hqm_requests r ON r.id = e.request_id ORDER BY e.seq')
            .all();
          expect(mostAtOnce(trail.filter((e) => e.queue === 'batched'))).toBe(1);
          // The other slots were not idle: the default queue ran several at once beside it.
          expect(mostAtOnce(trail.filter((e) => e.queue === 'default'))).toBeGreaterThan(1);
        } finally {
          store.close();
        }
      },
    );
  }, 120_000);
});

/** The most requests PROCESSING at once, replaying the trail in commit order. */
function mostAtOnce(trail: readonly TrailRow[]): number {
  let running = 0;
  let most = 0;
  for (const e of trail) {
    if (e.to_status === 'PROCESSING' && e.from_status !== 'PROCESSING') running += 1;
    else if (e.from_status === 'PROCESSING' && e.to_status !== 'PROCESSING') running -= 1;
    most = Math.max(most, running);
  }
  return most;
}

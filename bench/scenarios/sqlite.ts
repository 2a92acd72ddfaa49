/**
 * Issue #2 figures on the embedded default: submit throughput and latency against the bare
 * Fastify ceiling, end-to-end completion of 20,000 echo requests, and peak memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load, SUBMIT_BODY, type LoadResult } from '../lib/load.js';
import { completed } from '../lib/metrics.js';
import { CLI, sampleRss, startServer } from '../lib/process.js';
import type { Report } from '../lib/report.js';

const BARE = fileURLToPath(new URL('../bare-fastify.ts', import.meta.url));

export interface SqliteOptions {
  readonly durationS: number;
  readonly e2eRequests: number;
  readonly connections: number;
}

export async function sqliteScenario(report: Report, options: SqliteOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'openhqm-bench-'));
  try {
    const bare = await measureSubmit('bare Fastify (202, no work)', ['--import', 'tsx', BARE], {}, options);
    report.row('submit', bare.label, bare.result, { rssMb: bare.rssMb });

    const api = await measureSubmit('OpenHQM submit (openhqm api, SQLite)', [CLI, 'api'], { OPENHQM_SQLITE__PATH: join(dir, 'api.db') }, options);
    report.row('submit', api.label, api.result, { rssMb: api.rssMb, ratioTo: bare.result });

    const all = await measureSubmit('OpenHQM submit (openhqm start: API + workers, SQLite)', [CLI, 'start'], { OPENHQM_SQLITE__PATH: join(dir, 'start.db'), OPENHQM_WORKER__COUNT: '64' }, options);
    report.row('submit', all.label, all.result, { rssMb: all.rssMb, ratioTo: bare.result });

    const e2e = await measureEndToEnd(join(dir, 'e2e.db'), options);
    report.rate('end-to-end', `OpenHQM ${options.e2eRequests} echo requests, submit → COMPLETED (openhqm start, SQLite)`, e2e.perSecond, { rssMb: e2e.rssMb });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureSubmit(label: string, args: string[], env: Record<string, string>, options: SqliteOptions): Promise<{ label: string; result: LoadResult; rssMb: number }> {
  const nodeArgs = args[0] === '--import' ? args.slice(0, 2) : [];
  // Ingress capacity is the figure: load shedding (api.max_queue_depth) would cut it at 100k waiting.
  const server = await startServer(nodeArgs.length > 0 ? args.slice(2) : args, { OPENHQM_API__MAX_QUEUE_DEPTH: '0', ...env }, nodeArgs);
  try {
    const url = `${server.url}/api/v1/submit`;
    await load({ url, body: SUBMIT_BODY, connections: options.connections, durationS: 2 }); // warm-up
    const rss = sampleRss(server.child.pid as number);
    const result = await load({ url, body: SUBMIT_BODY, connections: options.connections, durationS: options.durationS });
    return { label, result, rssMb: rss.stop() };
  } finally {
    await server.stop();
  }
}

async function measureEndToEnd(path: string, options: SqliteOptions): Promise<{ perSecond: number; rssMb: number }> {
  const server = await startServer([CLI, 'start'], { OPENHQM_SQLITE__PATH: path, OPENHQM_WORKER__COUNT: '64' });
  try {
    const rss = sampleRss(server.child.pid as number);
    const started = performance.now();
    const submitted = load({ url: `${server.url}/api/v1/submit`, body: SUBMIT_BODY, connections: options.connections, amount: options.e2eRequests });
    let done = 0;
    while (done < options.e2eRequests) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      done = await completed(server.url);
      if (performance.now() - started > 600_000) throw new Error(`only ${done} of ${options.e2eRequests} completed in 10 minutes`);
    }
    const seconds = (performance.now() - started) / 1000;
    const submit = await submitted;
    if (submit.non2xx > 0 || submit.errors > 0) throw new Error(`end-to-end submit saw ${submit.non2xx} non-2xx and ${submit.errors} errors`);
    return { perSecond: options.e2eRequests / seconds, rssMb: rss.stop() };
  } finally {
    await server.stop();
  }
}

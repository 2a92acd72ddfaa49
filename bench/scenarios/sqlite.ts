/**
 * Issue #2 figures on the embedded default: submit throughput and latency against the bare
 * Fastify ceiling (with autocannon and, where installed, wrk, each against the bare route under
 * the same tool), batch submit (1,000 per request) in items/s beside single submits,
 * end-to-end completion of 20,000 echo requests (counted from the metrics, and as clients see
 * it: ?wait= clients, and clients that submit then ask GET /response?wait=), and peak memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clientRows } from '../lib/clients.js';
import { BATCH_SIZE, type LoadResult } from '../lib/load.js';
import { BATCH_CONNECTIONS, BATCH_SUBMIT, LOAD_TOOLS, measureEndToEnd, measureSubmit, type LoadTool } from '../lib/measure.js';
import { completed } from '../lib/metrics.js';
import { CLI, startServer } from '../lib/process.js';
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
    const bare = new Map<LoadTool, LoadResult>();
    const single = new Map<LoadTool, LoadResult>();
    for (const tool of LOAD_TOOLS) {
      const measured = await measureSubmit(`bare Fastify (202, no work), ${options.connections} connections, ${tool}`, { args: [BARE], nodeArgs: ['--import', 'tsx'] }, { ...options, tool });
      report.row('submit', measured.label, measured.result, { rssMb: measured.rssMb });
      bare.set(tool, measured.result);
    }
    for (const tool of LOAD_TOOLS) {
      const api = await measureSubmit(`OpenHQM submit (openhqm api, SQLite), ${options.connections} connections, ${tool}`, { args: [CLI, 'api'], env: { OPENHQM_SQLITE__PATH: join(dir, `api-${tool}.db`) } }, { ...options, tool });
      report.row('submit', api.label, api.result, { rssMb: api.rssMb, ratioTo: bare.get(tool) });
      single.set(tool, api.result);
    }

    // Beside the single submits: items per second, its ratio to single submits per second.
    const batch = await measureSubmit(`OpenHQM batch submit, ${BATCH_SIZE} per request (openhqm api, SQLite), ${BATCH_CONNECTIONS} connections`, { args: [CLI, 'api'], env: { OPENHQM_SQLITE__PATH: join(dir, 'batch.db') } }, { ...options, connections: BATCH_CONNECTIONS, request: BATCH_SUBMIT });
    report.items('submit', batch.label, batch.result, BATCH_SIZE, { rssMb: batch.rssMb, ratioTo: single.get('autocannon') });

    for (const tool of LOAD_TOOLS) {
      const all = await measureSubmit(`OpenHQM submit (openhqm start: API + workers, SQLite), ${options.connections} connections, ${tool}`, { args: [CLI, 'start'], env: { OPENHQM_SQLITE__PATH: join(dir, `start-${tool}.db`), OPENHQM_WORKER__COUNT: '64' } }, { ...options, tool });
      report.row('submit', all.label, all.result, { rssMb: all.rssMb, ratioTo: bare.get(tool) });
    }

    const server = await startServer([CLI, 'start'], { OPENHQM_SQLITE__PATH: join(dir, 'e2e.db'), OPENHQM_WORKER__COUNT: '64' });
    const e2e = await measureEndToEnd(server, { requests: options.e2eRequests, connections: options.connections, completed: () => completed(server.url) }).finally(() => server.stop());
    report.rate('end-to-end', `OpenHQM ${options.e2eRequests} echo requests, submit → COMPLETED (openhqm start, SQLite)`, e2e.perSecond, { rssMb: e2e.rssMb });

    let run = 0;
    await clientRows(report, {
      backend: 'SQLite',
      requests: options.e2eRequests,
      connections: 64,
      durationS: options.durationS,
      start: async (measure) => {
        run += 1;
        const fresh = await startServer([CLI, 'start'], { OPENHQM_SQLITE__PATH: join(dir, `clients-${run}.db`), OPENHQM_WORKER__COUNT: '64' });
        try {
          return await measure(fresh);
        } finally {
          await fresh.stop();
        }
      },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

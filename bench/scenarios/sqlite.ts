/**
 * Issue #2 figures on the embedded default: submit throughput and latency against the bare
 * Fastify ceiling, batch submit (1,000 per request) in items/s beside single submits,
 * end-to-end completion of 20,000 echo requests, and peak memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BATCH_SIZE } from '../lib/load.js';
import { BATCH_CONNECTIONS, BATCH_SUBMIT, measureEndToEnd, measureSubmit } from '../lib/measure.js';
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
    const bare = await measureSubmit('bare Fastify (202, no work)', { args: [BARE], nodeArgs: ['--import', 'tsx'] }, options);
    report.row('submit', bare.label, bare.result, { rssMb: bare.rssMb });

    const api = await measureSubmit('OpenHQM submit (openhqm api, SQLite)', { args: [CLI, 'api'], env: { OPENHQM_SQLITE__PATH: join(dir, 'api.db') } }, options);
    report.row('submit', api.label, api.result, { rssMb: api.rssMb, ratioTo: bare.result });

    // Beside the single submits: items per second, its ratio to single submits per second.
    const batch = await measureSubmit(`OpenHQM batch submit, ${BATCH_SIZE} per request (openhqm api, SQLite), ${BATCH_CONNECTIONS} connections`, { args: [CLI, 'api'], env: { OPENHQM_SQLITE__PATH: join(dir, 'batch.db') } }, { ...options, connections: BATCH_CONNECTIONS, request: BATCH_SUBMIT });
    report.items('submit', batch.label, batch.result, BATCH_SIZE, { rssMb: batch.rssMb, ratioTo: api.result });

    const all = await measureSubmit('OpenHQM submit (openhqm start: API + workers, SQLite)', { args: [CLI, 'start'], env: { OPENHQM_SQLITE__PATH: join(dir, 'start.db'), OPENHQM_WORKER__COUNT: '64' } }, options);
    report.row('submit', all.label, all.result, { rssMb: all.rssMb, ratioTo: bare.result });

    const server = await startServer([CLI, 'start'], { OPENHQM_SQLITE__PATH: join(dir, 'e2e.db'), OPENHQM_WORKER__COUNT: '64' });
    const e2e = await measureEndToEnd(server, { requests: options.e2eRequests, connections: options.connections, completed: () => completed(server.url) }).finally(() => server.stop());
    report.rate('end-to-end', `OpenHQM ${options.e2eRequests} echo requests, submit → COMPLETED (openhqm start, SQLite)`, e2e.perSecond, { rssMb: e2e.rssMb });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Issue #4 figure: the cost of going through OpenHQM. The same local upstream is called
 * directly, and through OpenHQM in sync mode (`POST /api/v1/submit?wait=10`: each request
 * is submitted, queued, forwarded, completed and answered), at the same concurrency.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load, SUBMIT_BODY } from '../lib/load.js';
import { CLI, startServer } from '../lib/process.js';
import type { Report } from '../lib/report.js';

const UPSTREAM = fileURLToPath(new URL('../upstream.ts', import.meta.url));

export async function proxyScenario(report: Report, options: { durationS: number; connections: number }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'openhqm-bench-proxy-'));
  const upstream = await startServer([UPSTREAM], {}, ['--import', 'tsx']);
  try {
    const body = JSON.stringify(JSON.parse(SUBMIT_BODY).payload);
    await load({ url: `${upstream.url}/process`, body, connections: options.connections, durationS: 2 });
    const direct = await load({ url: `${upstream.url}/process`, body, connections: options.connections, durationS: options.durationS });
    report.row('proxy', 'upstream called directly', direct);

    const gateway = await startServer([CLI, 'start'], {
      OPENHQM_SQLITE__PATH: join(dir, 'proxy.db'),
      OPENHQM_WORKER__COUNT: '64',
      OPENHQM_PROXY__ENABLED: 'true',
      OPENHQM_PROXY__DEFAULT_ENDPOINT: `${upstream.url}/process`,
    });
    try {
      const url = `${gateway.url}/api/v1/submit?wait=10`;
      await load({ url, body: SUBMIT_BODY, connections: options.connections, durationS: 2 });
      const through = await load({ url, body: SUBMIT_BODY, connections: options.connections, durationS: options.durationS });
      report.row('proxy', 'through OpenHQM: submit → queue → upstream → COMPLETED (?wait, SQLite)', through, { ratioTo: direct });
    } finally {
      await gateway.stop();
    }
  } finally {
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * HTTP load with wrk (https://github.com/wg/wrk, `apt-get install wrk`): a load generator in C,
 * beside autocannon (Node). On two cores the generator shares the CPU with the server it loads;
 * autocannon needs about as much CPU as a bare Fastify server, wrk a fraction of it, so the two
 * bracket what a server does when its clients live elsewhere. Same LoadResult as load.ts.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LoadOptions, LoadResult } from './load.js';

const run = promisify(execFile);

/** Whether wrk is on the PATH; the bench skips its rows (and says so) without it. */
export function wrkAvailable(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // wrk --version prints its banner and exits 1; only a missing binary is ENOENT.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * The script wrk runs: the method, the JSON header and the body (read from a file, so any body
 * fits), and a done() that prints one JSON line. wrk reports latencies in microseconds; its
 * `errors.status` counts answers of 400 and above.
 */
const SCRIPT = `
wrk.method = os.getenv("WRK_METHOD")
local body = os.getenv("WRK_BODY_FILE")
if body ~= nil and body ~= "" then
  local f = io.open(body, "rb")
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["content-type"] = "application/json"
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"durationUs":%d,"status":%d,"errors":%d,"p50":%d,"p99":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;

/** Runs wrk for `durationS` (10 s by default) with `connections` open; one thread is plenty for 50–64 connections. */
export async function wrkLoad(options: LoadOptions): Promise<LoadResult> {
  if (options.amount !== undefined) throw new Error('wrk runs for a duration, not a number of requests');
  const dir = mkdtempSync(join(tmpdir(), 'openhqm-wrk-'));
  try {
    const script = join(dir, 'load.lua');
    writeFileSync(script, SCRIPT);
    const method = options.method ?? 'POST';
    const bodyFile = method === 'GET' ? '' : join(dir, 'body.json');
    if (bodyFile !== '') writeFileSync(bodyFile, options.body);
    const durationS = options.durationS ?? 10;
    const { stdout } = await run('wrk', ['-t1', `-c${options.connections}`, `-d${durationS}s`, '--timeout', '10s', '-s', script, options.url], {
      env: { ...process.env, WRK_METHOD: method, WRK_BODY_FILE: bodyFile },
      maxBuffer: 1 << 20,
    });
    const line = stdout.trim().split('\n').pop() ?? '';
    const r = JSON.parse(line) as { requests: number; durationUs: number; status: number; errors: number; p50: number; p99: number };
    const seconds = r.durationUs / 1e6;
    return {
      requestsPerSecond: r.requests / seconds,
      p50Ms: r.p50 / 1000,
      p99Ms: r.p99 / 1000,
      total: r.requests,
      non2xx: r.status,
      errors: r.errors,
      durationS: seconds,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

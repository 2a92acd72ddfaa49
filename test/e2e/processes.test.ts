/**
 * `openhqm start --processes 2` (D150): two processes share the port, on a SQLite file and on
 * Redis. Requests complete and both processes run them; /metrics answers for both whichever
 * process is asked; a killed process is replaced; SIGTERM drains both and loses no 202.
 * And a backend that lives inside one process is refused.
 */
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { finished, runCli, startCli, type CliProcess } from '../helpers/cli.js';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix } from '../helpers/redis.js';
import { freePort } from '../helpers/servers.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const MODULE = fileURLToPath(new URL('../fixtures/pid-processor.mjs', import.meta.url));

/** One HTTP exchange on a connection of its own, so node:cluster hands each to the next process. */
function fresh(method: string, url: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(url, { method, agent: false, headers: { connection: 'close', ...(data === undefined ? {} : { 'content-type': 'application/json' }) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function submitFresh(url: string, payload: unknown): Promise<{ status: number; id?: string }> {
  const res = await fresh('POST', `${url}/api/v1/submit`, { payload });
  return { status: res.status, id: res.status === 202 ? ((JSON.parse(res.text) as { correlation_id: string }).correlation_id) : undefined };
}

function logLines(cli: CliProcess): Array<Record<string, unknown>> {
  return cli.output.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** Resolves with the pids of the processes once the primary says all are ready. */
async function allReady(cli: CliProcess): Promise<number[]> {
  const exited = cli.exited.then((exit) => {
    throw new Error(`openhqm exited (${exit.code ?? exit.signal}) before it was ready:\n${cli.output.join('\n')}`);
  });
  const line = await Promise.race([exited, waitFor(() => logLines(cli).find((l) => l.msg === 'all 2 processes ready'), { timeoutMs: 30_000, what: 'both processes ready' })]);
  return line.pids as number[];
}

/** Sum of a counter's samples with these label pairs in Prometheus text. */
function sample(text: string, name: string, labels: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(labels))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

async function scenario(env: Record<string, string>): Promise<void> {
  const args = ['start', '--processes', '2'];
  const server = startCli(args, { OPENHQM_WORKER__PROCESSOR_MODULE: MODULE, OPENHQM_WORKER__COUNT: '4', OPENHQM_WORKER__SHUTDOWN_GRACE_SECONDS: '20', ...env });
  const pids = await allReady(server);
  expect(new Set(pids).size).toBe(2);
  expect(pids).not.toContain(server.child.pid);
  const url = server.url;

  // Requests complete, and each process ran some of them.
  const first = await Promise.all(Array.from({ length: 40 }, () => submitFresh(url, { sleep_ms: 0 })));
  expect(first.map((r) => r.status)).toEqual(first.map(() => 202));
  const ran = new Set<number>();
  for (const { id } of first) ran.add(((await finished(url, id ?? '')).result as { pid: number }).pid);
  expect([...ran].sort()).toEqual([...pids].sort());

  // /metrics answers for both processes, whichever of them is asked.
  for (let i = 0; i < 4; i += 1) {
    const metrics = await fresh('GET', `${url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(sample(metrics.text, 'openhqm_api_requests_total', 'endpoint="/api/v1/submit",status="202"')).toBe(40);
    expect(metrics.text.match(/^openhqm_worker_heartbeat_timestamp_seconds\{/gm)).toHaveLength(2);
  }

  // A killed process is replaced, and the pair serves on.
  const [victim = 0, survivor = 0] = pids;
  process.kill(victim, 'SIGKILL');
  const replaced = await waitFor(() => logLines(server).find((l) => typeof l.msg === 'string' && l.msg.startsWith('replacement process')), { timeoutMs: 30_000, what: 'a replacement process' });
  const replacement = replaced.child_pid as number;
  expect(logLines(server).some((l) => l.child_pid === victim && l.signal === 'SIGKILL' && l.level === 'error')).toBe(true);
  const second = await Promise.all(Array.from({ length: 20 }, () => submitFresh(url, { sleep_ms: 0 })));
  for (const { id } of second) expect([survivor, replacement]).toContain(((await finished(url, id ?? '')).result as { pid: number }).pid);

  // SIGTERM with work in flight and submits still arriving: exit 0, and every 202 completes.
  const accepted: string[] = [];
  for (let i = 0; i < 8; i += 1) {
    const res = await submitFresh(url, { sleep_ms: 500 });
    if (res.id !== undefined) accepted.push(res.id);
  }
  let stopped = false;
  const arriving = (async () => {
    while (!stopped) {
      // Refused (503 while draining) or not connected once the listeners closed: both are no 202.
      const res = await submitFresh(url, { sleep_ms: 0 }).catch(() => ({ status: 0, id: undefined }));
      if (res.id !== undefined) accepted.push(res.id);
    }
  })();
  server.kill('SIGTERM');
  const exit = await server.exited;
  stopped = true;
  await arriving;
  expect(exit).toEqual({ code: 0, signal: null });
  for (const pid of [survivor, replacement]) expect(() => process.kill(pid, 0)).toThrow();

  const restarted = await startCli(['start'], { OPENHQM_WORKER__PROCESSOR_MODULE: MODULE, ...env }).ready();
  for (const id of accepted) expect(await finished(restarted.url, id)).toMatchObject({ status: 'COMPLETED' });
  restarted.kill('SIGTERM');
  expect((await restarted.exited).code).toBe(0);
}

describe('start --processes 2', () => {
  const dir = tempDir();

  it('on one SQLite file: both processes serve, /metrics covers both, a killed one is replaced, SIGTERM loses nothing', async () => {
    await scenario({ OPENHQM_SQLITE__PATH: join(dir, 'processes.db') });
  }, 120_000);

  describe('on Redis', () => {
    const prefix = testPrefix();
    afterAll(() => deleteKeys(prefix, { url: REDIS_URL }).catch(() => undefined));

    it('both processes serve, /metrics covers both, a killed one is replaced, SIGTERM loses nothing', async (ctx) => {
      const missing = await requireRedis();
      if (missing !== undefined) return ctx.skip(missing.skip);
      await scenario({
        OPENHQM_QUEUE__TYPE: 'redis',
        OPENHQM_CACHE__TYPE: 'redis',
        OPENHQM_QUEUE__REDIS_URL: REDIS_URL,
        OPENHQM_CACHE__REDIS_URL: REDIS_URL,
        OPENHQM_REDIS__KEY_PREFIX: prefix,
      });
    }, 120_000);
  });

  it('api --processes 2 and worker --processes 2 on one SQLite file: both workers run, each /metrics answers for its two, a stuck one is a 503', async () => {
    const metricsPort = await freePort();
    const env = { OPENHQM_SQLITE__PATH: join(dir, 'split.db'), OPENHQM_WORKER__PROCESSOR_MODULE: MODULE };
    const api = startCli(['api', '--processes', '2'], env);
    const worker = startCli(['worker', '--processes', '2', '--set', `monitoring.metrics_port=${metricsPort}`], env);
    const [apiPids, workerPids] = await Promise.all([allReady(api), allReady(worker)]);
    const accepted = await Promise.all(Array.from({ length: 30 }, () => submitFresh(api.url, { sleep_ms: 0 })));
    const ran = new Set<number>();
    for (const { id } of accepted) ran.add(((await finished(api.url, id ?? '')).result as { pid: number }).pid);
    expect([...ran].sort()).toEqual([...workerPids].sort());

    const apiMetrics = await fresh('GET', `${api.url}/metrics`);
    expect(sample(apiMetrics.text, 'openhqm_api_requests_total', 'endpoint="/api/v1/submit",status="202"')).toBe(30);
    const workerMetrics = await fresh('GET', `http://127.0.0.1:${metricsPort}/metrics`);
    expect(workerMetrics.text.match(/^openhqm_worker_heartbeat_timestamp_seconds\{/gm)).toHaveLength(2);
    expect(sample(workerMetrics.text, 'openhqm_queue_finished_total', 'outcome="completed"')).toBe(30);

    // A copy that cannot answer (stopped) makes the gathering fail: 503 with the code, not one copy's figures.
    const [stuck = 0] = apiPids;
    process.kill(stuck, 'SIGSTOP');
    try {
      const scrapes = [fresh('GET', `${api.url}/metrics`), fresh('GET', `${api.url}/metrics`)];
      const answered = await Promise.race(scrapes);
      expect(answered.status).toBe(503);
      expect(JSON.parse(answered.text)).toMatchObject({ code: 'HQM_ERR_METRICS_UNAVAILABLE' });
    } finally {
      process.kill(stuck, 'SIGCONT');
    }
    expect((await fresh('GET', `${api.url}/metrics`)).status).toBe(200);

    for (const cli of [api, worker]) cli.kill('SIGTERM');
    expect(await api.exited).toEqual({ code: 0, signal: null });
    expect(await worker.exited).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('exits non-zero when a process fails to start (its port is taken), stopping the others', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const cli = startCli(['start', '--processes', '2'], { OPENHQM_SQLITE__PATH: join(dir, 'taken.db'), OPENHQM_SERVER__PORT: String(port) });
      expect((await cli.exited).code).toBe(1);
      expect(cli.output.join('\n')).toMatch(/EADDRINUSE/);
      expect(logLines(cli).some((l) => typeof l.msg === 'string' && l.msg.includes('exited before it was ready'))).toBe(true);
    } finally {
      taken.close();
    }
  }, 60_000);

  it('refuses a backend that lives inside one process, once, with exit code 2', async () => {
    const { code, stderr } = await runCli(['start', '--processes', '2', '--queue-type', 'memory', '--cache-type', 'memory'], { OPENHQM_SERVER__PORT: '0', OPENHQM_SERVER__HOST: '127.0.0.1' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/server\.processes: 2 processes cannot share the queue "memory" and the result store "memory"/);
    // The first process is started alone: the refusal is printed by one process, not by each.
    expect(stderr.match(/cannot share/g)).toHaveLength(1);
  }, 60_000);
});

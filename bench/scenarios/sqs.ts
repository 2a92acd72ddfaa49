/**
 * Issue #14 figures on SQS, all against one moto server the bench starts (moto is the SQS this
 * machine has; its figures say what the adapter costs beside the SDK on the same emulator, not
 * what AWS does): the raw SDK (send, and receive + delete, 64 in flight; and sending alone,
 * receiving alone), the bare-Fastify ceiling, and OpenHQM with the SQS queue and the Redis store —
 * submit rate and latency, and end-to-end with `openhqm start`. Redis keys go under a prefix of the
 * run's own, deleted afterwards; the queues go with moto.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { runAnchor } from '../lib/anchor.js';
import { measureEndToEnd, measureSubmit } from '../lib/measure.js';
import { CLI, cpuProfileArgs, startServer } from '../lib/process.js';
import type { Report } from '../lib/report.js';
import { completions, withPrefix } from './redis.js';

const BARE = fileURLToPath(new URL('../bare-fastify.ts', import.meta.url));
const ANCHOR = fileURLToPath(new URL('../sqs-anchor.ts', import.meta.url));

export interface SqsBenchOptions {
  readonly redisUrl: string;
  readonly durationS: number;
  readonly e2eRequests: number;
  readonly connections: number;
  readonly inFlight: number;
  readonly profileDir?: string;
}

export interface SqsFigures {
  readonly raw: { combined: number; publishes: number; consuming: number };
  readonly e2eAllInOne: number;
}

export async function sqsScenario(report: Report, load: SqsBenchOptions): Promise<SqsFigures> {
  // moto answers tens of calls a second on this machine (one Python thread, a scan of the queue per
  // receive): a tenth of the shared load's requests and 16 in flight keep the run within minutes
  // and the submits within the load tool's timeout; the raw SDK and OpenHQM move the same number.
  const options = { ...load, e2eRequests: Math.max(300, Math.round(load.e2eRequests / 10)), inFlight: Math.min(16, load.inFlight) };
  const moto = await startMoto();
  try {
    const raw = await runAnchor<SqsFigures['raw']>('@aws-sdk/client-sqs', ANCHOR, {
      SQS_ENDPOINT: moto.endpoint,
      QUEUE_PREFIX: `hqm-bench-${randomUUID().slice(0, 8)}-`,
      JOBS: String(options.e2eRequests),
      IN_FLIGHT: String(options.inFlight),
    });
    report.rate('anchor', `@aws-sdk/client-sqs send + receive/delete on moto, one process (${options.e2eRequests} messages, ${options.inFlight} in flight)`, raw.combined, { unit: 'msgs/s' });
    report.rate('anchor', '@aws-sdk/client-sqs sending alone', raw.publishes, { unit: 'msgs/s' });
    report.rate('anchor', '@aws-sdk/client-sqs receiving + deleting alone', raw.consuming, { unit: 'msgs/s' });

    const bare = await measureSubmit('bare Fastify (202, no work), 50 connections', { args: [BARE], nodeArgs: ['--import', 'tsx'] }, options);
    report.row('submit', bare.label, bare.result, { rssMb: bare.rssMb });

    const api = await withPrefix(options.redisUrl, (prefix) =>
      measureSubmit(`OpenHQM submit (openhqm api, SQS queue on moto, Redis store), ${options.connections} connections`, { args: [CLI, 'api'], env: sqsEnv(options, moto.endpoint, prefix), nodeArgs: cpuProfileArgs(options.profileDir, 'submit') }, options),
    );
    report.row('submit', api.label, api.result, { rssMb: api.rssMb, ratioTo: bare.result });
    report.rate('submit', 'the same submits per second, beside the raw SDK sending alone', api.result.requestsPerSecond, { ratioTo: raw.publishes });

    const e2e = await withPrefix(options.redisUrl, async (prefix) => {
      const server = await startServer([CLI, 'start'], sqsEnv(options, moto.endpoint, prefix), cpuProfileArgs(options.profileDir, 'start'));
      const counter = await completions(options.redisUrl, prefix);
      try {
        return await measureEndToEnd(server, { requests: options.e2eRequests, connections: options.inFlight, completed: () => counter.count });
      } finally {
        counter.close();
        await server.stop();
      }
    });
    report.rate('end-to-end', `OpenHQM ${options.e2eRequests} echo requests, submit → COMPLETED (openhqm start, SQS queue on moto, Redis store, ${options.inFlight} in flight)`, e2e.perSecond, { rssMb: e2e.rssMb, ratioTo: raw.combined });
    return { raw, e2eAllInOne: e2e.perSecond };
  } finally {
    moto.stop();
  }
}

function sqsEnv(options: SqsBenchOptions, endpoint: string, prefix: string): Record<string, string> {
  return {
    OPENHQM_QUEUE__TYPE: 'sqs',
    OPENHQM_CACHE__TYPE: 'redis',
    OPENHQM_QUEUE__SQS_ENDPOINT_URL: endpoint,
    // A queue of the run's own on the shared moto.
    OPENHQM_QUEUE__REQUEST_QUEUE_NAME: prefix,
    OPENHQM_CACHE__REDIS_URL: options.redisUrl,
    OPENHQM_REDIS__KEY_PREFIX: prefix,
    OPENHQM_WORKER__COUNT: String(options.inFlight),
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'bench',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'bench',
  };
}

/** A moto server on a free port, for this run only. */
async function startMoto(): Promise<{ endpoint: string; stop(): void }> {
  const found = spawnSync('sh', ['-c', 'command -v moto_server || ls /root/.pyenv/shims/moto_server'], { encoding: 'utf8' });
  const bin = found.stdout.trim().split('\n')[0] ?? '';
  if (found.status !== 0 || bin === '') throw new Error('moto_server (Python package moto[server]) is not installed: the SQS bench runs on it');
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
  const child = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const deadline = Date.now() + 30_000;
  while (!(await answers(port))) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('moto_server did not start within 30 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => (socket.destroy(), resolve(false)));
    socket.connect(port, '127.0.0.1');
  });
}


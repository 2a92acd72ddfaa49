/**
 * Issue #3 figures, all against the same Redis in one run: BullMQ (add and process in one
 * process, 64 adds in flight, Worker concurrency 64; and adding alone, processing alone), the
 * bare-Fastify ceiling, and OpenHQM on Redis — submit rate and latency, batch submit (1,000 per
 * request) in items/s, end-to-end with
 * `openhqm start` (completions counted from the change channel, and as clients see them: each
 * waiting with ?wait=, or submitting then asking GET /response?wait=), end-to-end with one
 * `openhqm api` and two `openhqm worker` processes, and GET /response latency. Load comes from
 * this process (autocannon) and, where installed, from wrk (C), never from the server's; the
 * submit rows are measured with both, each against the bare route measured with the same tool.
 *
 * With `profileDir`, the OpenHQM server processes run under `node --cpu-prof`.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { runAnchor } from '../lib/anchor.js';
import { BATCH_SIZE, type LoadResult } from '../lib/load.js';
import { BATCH_CONNECTIONS, BATCH_SUBMIT, LOAD_TOOLS, measureEndToEnd, measureResponseLatency, measureSubmit, type LoadTool } from '../lib/measure.js';
import { clientRows, type ClientFigures } from '../lib/clients.js';
import { CLI, cpuProfileArgs, startServer, type Server } from '../lib/process.js';
import type { Report } from '../lib/report.js';

const BARE = fileURLToPath(new URL('../bare-fastify.ts', import.meta.url));
const ANCHOR = fileURLToPath(new URL('../bullmq-anchor.ts', import.meta.url));

export interface RedisBenchOptions {
  readonly redisUrl: string;
  readonly durationS: number;
  readonly e2eRequests: number;
  /** Connections for the submit-latency target (p99 at 50 connections). */
  readonly connections: number;
  /** Requests in flight for the end-to-end runs and BullMQ's adds. */
  readonly inFlight: number;
  readonly profileDir?: string;
}

export interface RedisFigures {
  readonly bullmq: { combined: number; adds: number; processing: number };
  readonly e2eAllInOne: number;
  /** End to end as clients see it (openhqm start), by how they learn the result. */
  readonly clients: ClientFigures;
}

export async function redisScenario(report: Report, options: RedisBenchOptions): Promise<RedisFigures> {
  const bullmq = await withPrefix(options.redisUrl, (prefix) => runBullmq(options, prefix));
  report.rate('anchor', `BullMQ add + process in one process (${options.e2eRequests} jobs, ${options.inFlight} adds in flight, concurrency ${options.inFlight})`, bullmq.combined, { unit: 'jobs/s' });
  report.rate('anchor', 'BullMQ adding alone', bullmq.adds, { unit: 'jobs/s' });
  report.rate('anchor', 'BullMQ processing alone', bullmq.processing, { unit: 'jobs/s' });

  const bare = new Map<LoadTool, LoadResult>();
  for (const tool of LOAD_TOOLS) {
    const measured = await measureSubmit(`bare Fastify (202, no work), 50 connections, ${tool}`, { args: [BARE], nodeArgs: ['--import', 'tsx'] }, { ...options, tool });
    report.row('submit', measured.label, measured.result, { rssMb: measured.rssMb });
    bare.set(tool, measured.result);
  }

  let single: LoadResult | undefined;
  for (const tool of LOAD_TOOLS) {
    for (const connections of [options.connections, options.inFlight]) {
      const api = await withPrefix(options.redisUrl, (prefix) =>
        measureSubmit(`OpenHQM submit (openhqm api, Redis), ${connections} connections, ${tool}`, { args: [CLI, 'api'], env: redisEnv(options, prefix), nodeArgs: profile(options, `submit-${tool}`) }, { ...options, connections, tool }),
      );
      report.row('submit', api.label, api.result, { rssMb: api.rssMb, ratioTo: bare.get(tool) });
      single ??= api.result;
    }
  }
  // Beside the single submits: items per second, its ratio to single submits per second.
  const batch = await withPrefix(options.redisUrl, (prefix) =>
    measureSubmit(`OpenHQM batch submit, ${BATCH_SIZE} per request (openhqm api, Redis), ${BATCH_CONNECTIONS} connections`, { args: [CLI, 'api'], env: redisEnv(options, prefix), nodeArgs: profile(options, 'batch') }, { ...options, connections: BATCH_CONNECTIONS, request: BATCH_SUBMIT }),
  );
  report.items('submit', batch.label, batch.result, BATCH_SIZE, { rssMb: batch.rssMb, ratioTo: single });

  const allInOne = await withPrefix(options.redisUrl, (prefix) => endToEndAllInOne(report, options, prefix));
  report.rate('end-to-end', `OpenHQM ${options.e2eRequests} echo requests, submit → COMPLETED (openhqm start, Redis, ${options.inFlight} in flight)`, allInOne.perSecond, { rssMb: allInOne.rssMb, ratioTo: bullmq.combined });

  const clients = await clientRows(report, {
    backend: 'Redis',
    requests: options.e2eRequests,
    connections: options.inFlight,
    durationS: options.durationS,
    anchor: bullmq.combined,
    start: (run) => withPrefix(options.redisUrl, async (prefix) => {
      const server = await startServer([CLI, 'start'], redisEnv(options, prefix), profile(options, 'start-clients'));
      try {
        return await run(server);
      } finally {
        await server.stop();
      }
    }),
  });

  const split = await withPrefix(options.redisUrl, (prefix) => endToEndSplit(options, prefix));
  report.rate('end-to-end', `OpenHQM ${options.e2eRequests} echo requests (1 × openhqm api + 2 × openhqm worker, Redis)`, split.perSecond, { rssMb: split.rssMb, ratioTo: bullmq.combined });
  return { bullmq, e2eAllInOne: allInOne.perSecond, clients };
}

function redisEnv(options: RedisBenchOptions, prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OPENHQM_QUEUE__TYPE: 'redis',
    OPENHQM_CACHE__TYPE: 'redis',
    OPENHQM_QUEUE__REDIS_URL: options.redisUrl,
    OPENHQM_CACHE__REDIS_URL: options.redisUrl,
    OPENHQM_REDIS__KEY_PREFIX: prefix,
    OPENHQM_WORKER__COUNT: String(options.inFlight),
    ...extra,
  };
}

function profile(options: RedisBenchOptions, name: string): string[] {
  return cpuProfileArgs(options.profileDir, name);
}

async function endToEndAllInOne(report: Report, options: RedisBenchOptions, prefix: string): Promise<{ perSecond: number; rssMb: number }> {
  const server = await startServer([CLI, 'start'], redisEnv(options, prefix), profile(options, 'start'));
  const counter = await completions(options.redisUrl, prefix);
  try {
    const e2e = await measureEndToEnd(server, { requests: options.e2eRequests, connections: options.inFlight, completed: () => counter.count });
    const read = await measureResponseLatency(server, options);
    report.row('read', `OpenHQM GET /response of a finished request (openhqm start, Redis), ${options.connections} connections`, read);
    return e2e;
  } finally {
    counter.close();
    await server.stop();
  }
}

async function endToEndSplit(options: RedisBenchOptions, prefix: string): Promise<{ perSecond: number; rssMb: number }> {
  const processes: Server[] = [];
  const counter = await completions(options.redisUrl, prefix);
  try {
    processes.push(await startServer([CLI, 'api'], redisEnv(options, prefix), profile(options, 'api')));
    for (const n of [1, 2]) processes.push(await startServer([CLI, 'worker'], redisEnv(options, prefix, { OPENHQM_WORKER__ID: `bench-${n}` }), profile(options, `worker-${n}`)));
    return await measureEndToEnd(processes[0] as Server, { requests: options.e2eRequests, connections: options.inFlight, completed: () => counter.count, sampleRssOf: processes });
  } finally {
    counter.close();
    await Promise.all(processes.map((p) => p.stop()));
  }
}

/** Counts COMPLETED transitions of a prefix from the store's change channel. */
async function completions(redisUrl: string, prefix: string): Promise<{ readonly count: number; close(): void }> {
  const subscriber = new Redis(redisUrl);
  let count = 0;
  subscriber.on('message', (_channel: string, message: string) => {
    if (message.includes('|COMPLETED|')) count += 1;
  });
  await subscriber.subscribe(`${prefix}:changes`);
  return {
    get count() {
      return count;
    },
    close: () => subscriber.disconnect(),
  };
}

function runBullmq(options: RedisBenchOptions, prefix: string): Promise<{ combined: number; adds: number; processing: number }> {
  return runAnchor('BullMQ', ANCHOR, { REDIS_URL: options.redisUrl, BULLMQ_PREFIX: prefix, JOBS: String(options.e2eRequests), IN_FLIGHT: String(options.inFlight) });
}

/** Runs `work` under a fresh key prefix and deletes the prefix's keys afterwards. */
async function withPrefix<T>(redisUrl: string, work: (prefix: string) => Promise<T>): Promise<T> {
  const prefix = `hqm-bench-${randomUUID().slice(0, 8)}`;
  try {
    return await work(prefix);
  } finally {
    const redis = new Redis(redisUrl);
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }
}

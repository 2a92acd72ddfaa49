/**
 * Issue #15 figures on Kafka, all against one mock cluster in one run (librdkafka's, in a `kcat`
 * process started here; no Kafka broker installs on this machine): kafkajs itself — the client
 * OpenHQM uses — producing and consuming raw records (together, and each alone), the
 * bare-Fastify ceiling, and OpenHQM with the Kafka queue (and the machine's Redis as the result
 * store) — submit rate and latency, end-to-end with `openhqm start`, and with one `openhqm api`
 * and two `openhqm worker` processes in one consumer group.
 *
 * The mock keeps its log in memory and is one process: its figures say how OpenHQM's Kafka path
 * compares with the raw client on the same brokers, not what a Kafka cluster sustains.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { runAnchor } from '../lib/anchor.js';
import { measureEndToEnd, measureSubmit } from '../lib/measure.js';
import { CLI, cpuProfileArgs, startServer, type Server } from '../lib/process.js';
import type { Report } from '../lib/report.js';
import { completions, withPrefix } from './redis.js';

const BARE = fileURLToPath(new URL('../bare-fastify.ts', import.meta.url));
const ANCHOR = fileURLToPath(new URL('../kafkajs-anchor.ts', import.meta.url));

export interface KafkaBenchOptions {
  readonly redisUrl: string;
  readonly durationS: number;
  readonly e2eRequests: number;
  readonly connections: number;
  readonly inFlight: number;
  readonly profileDir?: string;
}

export interface KafkaFigures {
  readonly kafkajs: { combined: number; produced: number; consumed: number };
  readonly e2eAllInOne: number;
}

export async function kafkaScenario(report: Report, options: KafkaBenchOptions): Promise<KafkaFigures> {
  const mock = await startMock();
  try {
    const kafkajs = await runAnchor<KafkaFigures['kafkajs']>('kafkajs', ANCHOR, { KAFKA_BROKERS: mock.brokers, JOBS: String(options.e2eRequests), IN_FLIGHT: String(options.inFlight) });
    report.rate('anchor', `kafkajs produce + consume in one process (${options.e2eRequests} records, ${options.inFlight} sends in flight, one record per send)`, kafkajs.combined, { unit: 'records/s' });
    report.rate('anchor', 'kafkajs producing alone', kafkajs.produced, { unit: 'records/s' });
    report.rate('anchor', 'kafkajs consuming alone', kafkajs.consumed, { unit: 'records/s' });

    const bare = await measureSubmit('bare Fastify (202, no work), 50 connections', { args: [BARE], nodeArgs: ['--import', 'tsx'] }, options);
    report.row('submit', bare.label, bare.result, { rssMb: bare.rssMb });
    const api = await withPrefix(options.redisUrl, (prefix) =>
      measureSubmit(`OpenHQM submit (openhqm api, Kafka queue, Redis store), ${options.connections} connections`, { args: [CLI, 'api'], env: kafkaEnv(options, mock.brokers, prefix), nodeArgs: cpuProfileArgs(options.profileDir, 'submit') }, options),
    );
    report.row('submit', api.label, api.result, { rssMb: api.rssMb, ratioTo: bare.result });

    const allInOne = await withPrefix(options.redisUrl, async (prefix) => {
      const server = await startServer([CLI, 'start'], kafkaEnv(options, mock.brokers, prefix), cpuProfileArgs(options.profileDir, 'start'));
      const counter = await completions(options.redisUrl, prefix);
      try {
        const warm = await warmUp(server, () => counter.count);
        return await measureEndToEnd(server, { requests: options.e2eRequests, connections: options.inFlight, completed: () => counter.count - warm });
      } finally {
        counter.close();
        await server.stop();
      }
    });
    report.rate('end-to-end', `OpenHQM ${options.e2eRequests} echo requests, submit → COMPLETED (openhqm start, Kafka queue, ${options.inFlight} in flight)`, allInOne.perSecond, { rssMb: allInOne.rssMb, ratioTo: kafkajs.combined });

    const split = await withPrefix(options.redisUrl, async (prefix) => {
      const processes: Server[] = [];
      const counter = await completions(options.redisUrl, prefix);
      try {
        processes.push(await startServer([CLI, 'api'], kafkaEnv(options, mock.brokers, prefix), cpuProfileArgs(options.profileDir, 'api')));
        for (const n of [1, 2]) processes.push(await startServer([CLI, 'worker'], kafkaEnv(options, mock.brokers, prefix, { OPENHQM_WORKER__ID: `bench-${n}` }), cpuProfileArgs(options.profileDir, `worker-${n}`)));
        const warm = await warmUp(processes[0] as Server, () => counter.count);
        return await measureEndToEnd(processes[0] as Server, { requests: options.e2eRequests, connections: options.inFlight, completed: () => counter.count - warm, sampleRssOf: processes });
      } finally {
        counter.close();
        await Promise.all(processes.map((p) => p.stop()));
      }
    });
    report.rate('end-to-end', `OpenHQM ${options.e2eRequests} echo requests (1 × openhqm api + 2 × openhqm worker in one group, Kafka queue)`, split.perSecond, { rssMb: split.rssMb, ratioTo: kafkajs.combined });
    return { kafkajs, e2eAllInOne: allInOne.perSecond };
  } finally {
    mock.stop();
  }
}

/**
 * Waits until the workers' consumer group has formed: the mock holds a group's first join for
 * 3 s and a second member rebalances it, which the kafkajs anchor does not pay inside its clock
 * either. Submits a request a second until one completes; returns how many completed by then.
 */
async function warmUp(server: Server, completed: () => number): Promise<number> {
  const deadline = Date.now() + 60_000;
  while (completed() === 0) {
    if (Date.now() > deadline) throw new Error('no request completed within a minute of start');
    await fetch(`${server.url}/api/v1/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload: { operation: 'echo', data: 'warm-up' } }) });
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  // Whatever warm-up requests are still on their way complete soon after.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  return completed();
}

function kafkaEnv(options: KafkaBenchOptions, brokers: string, prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OPENHQM_QUEUE__TYPE: 'kafka',
    OPENHQM_QUEUE__KAFKA_BOOTSTRAP_SERVERS: brokers,
    // A group (and topics) of the run's own on the shared mock.
    OPENHQM_QUEUE__KAFKA_CONSUMER_GROUP: prefix,
    OPENHQM_QUEUE__REQUEST_QUEUE_NAME: `${prefix}-requests`,
    // librdkafka's mock answers a fetch when its wait is over, not when records arrive.
    OPENHQM_KAFKA__FETCH_MAX_WAIT_MS: '20',
    // The mock is one process on a machine the load generator shares: a publish may wait long
    // behind it, and a 503 would stall the end-to-end count (which expects every 202).
    OPENHQM_KAFKA__REQUEST_TIMEOUT_MS: '30000',
    OPENHQM_CACHE__TYPE: 'redis',
    OPENHQM_CACHE__REDIS_URL: options.redisUrl,
    OPENHQM_REDIS__KEY_PREFIX: prefix,
    OPENHQM_WORKER__COUNT: String(options.inFlight),
    ...extra,
  };
}

/** `kcat`'s mock cluster (three brokers); its bootstrap servers from its log. */
async function startMock(): Promise<{ brokers: string; stop(): void }> {
  const child = spawn('kcat', ['-b', 'localhost:9092', '-X', 'test.mock.num.brokers=3', '-C', '-q', '-t', `bench-probe-${randomUUID()}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const brokers = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      const match = /replaced with (\S+)/.exec(seen);
      if (match?.[1] === undefined) return;
      child.stderr.off('data', onData);
      child.stderr.resume();
      resolve(match[1]);
    };
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`kcat exited (${code}): is it installed? (apt-get install kcat) ${seen.slice(-300)}`)));
  });
  return { brokers, stop: () => void child.kill('SIGKILL') };
}

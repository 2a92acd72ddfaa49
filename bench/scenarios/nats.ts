/**
 * Issue #14 figures on NATS JetStream, all against the same server in one run: the NATS client
 * itself (publish and consume in one process, 64 publishes in flight; and publishing alone,
 * consuming alone: the ratio is what the adapter costs), the bare-Fastify ceiling, and OpenHQM
 * with the NATS queue — submit rate and latency, end-to-end with `openhqm start`, end-to-end
 * with one `openhqm api` and two `openhqm worker` processes. NATS keeps no results, so the
 * result store is Redis (the machine's, under a key prefix of the run's own); completions are
 * counted from its change channel. Every run gets stream and subject prefixes of its own,
 * whose streams are deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { runAnchor } from '../lib/anchor.js';
import { measureEndToEnd, measureSubmit } from '../lib/measure.js';
import { CLI, cpuProfileArgs, startServer, type Server } from '../lib/process.js';
import type { Report } from '../lib/report.js';
import { completions, withPrefix } from './redis.js';

const BARE = fileURLToPath(new URL('../bare-fastify.ts', import.meta.url));
const ANCHOR = fileURLToPath(new URL('../nats-anchor.ts', import.meta.url));

export interface NatsBenchOptions {
  readonly natsUrl: string;
  /** The result store's Redis. */
  readonly redisUrl: string;
  readonly durationS: number;
  readonly e2eRequests: number;
  readonly connections: number;
  readonly inFlight: number;
  readonly profileDir?: string;
}

export interface NatsFigures {
  readonly client: { combined: number; publishes: number; consuming: number };
  readonly e2eAllInOne: number;
}

export async function natsScenario(report: Report, options: NatsBenchOptions): Promise<NatsFigures> {
  const client = await withStreams(options.natsUrl, (streamPrefix) =>
    runAnchor<NatsFigures['client']>('NATS client', ANCHOR, { NATS_URL: options.natsUrl, STREAM_PREFIX: streamPrefix, JOBS: String(options.e2eRequests), IN_FLIGHT: String(options.inFlight) }),
  );
  report.rate('anchor', `NATS client publish + consume in one process (${options.e2eRequests} messages, ${options.inFlight} publishes in flight, explicit acks)`, client.combined, { unit: 'msgs/s' });
  report.rate('anchor', 'NATS client publishing alone', client.publishes, { unit: 'msgs/s' });
  report.rate('anchor', 'NATS client consuming alone', client.consuming, { unit: 'msgs/s' });

  const bare = await measureSubmit('bare Fastify (202, no work), 50 connections', { args: [BARE], nodeArgs: ['--import', 'tsx'] }, options);
  report.row('submit', bare.label, bare.result, { rssMb: bare.rssMb });

  for (const connections of [options.connections, options.inFlight]) {
    const api = await withBoth(options, (env) =>
      measureSubmit(`OpenHQM submit (openhqm api, NATS queue, Redis store), ${connections} connections`, { args: [CLI, 'api'], env, nodeArgs: cpuProfileArgs(options.profileDir, 'submit') }, { ...options, connections }),
    );
    report.row('submit', api.label, api.result, { rssMb: api.rssMb, ratioTo: bare.result });
  }

  const allInOne = await withBoth(options, async (env, prefix) => {
    const server = await startServer([CLI, 'start'], env, cpuProfileArgs(options.profileDir, 'start'));
    const counter = await completions(options.redisUrl, prefix);
    try {
      return await measureEndToEnd(server, { requests: options.e2eRequests, connections: options.inFlight, completed: () => counter.count });
    } finally {
      counter.close();
      await server.stop();
    }
  });
  report.rate('end-to-end', `OpenHQM ${options.e2eRequests} echo requests, submit → COMPLETED (openhqm start, NATS queue, Redis store, ${options.inFlight} in flight)`, allInOne.perSecond, { rssMb: allInOne.rssMb, ratioTo: client.combined });

  const split = await withBoth(options, async (env, prefix) => {
    const processes: Server[] = [];
    const counter = await completions(options.redisUrl, prefix);
    try {
      processes.push(await startServer([CLI, 'api'], env, cpuProfileArgs(options.profileDir, 'api')));
      for (const n of [1, 2]) processes.push(await startServer([CLI, 'worker'], { ...env, OPENHQM_WORKER__ID: `bench-${n}` }, cpuProfileArgs(options.profileDir, `worker-${n}`)));
      return await measureEndToEnd(processes[0] as Server, { requests: options.e2eRequests, connections: options.inFlight, completed: () => counter.count, sampleRssOf: processes });
    } finally {
      counter.close();
      await Promise.all(processes.map((p) => p.stop()));
    }
  });
  report.rate('end-to-end', `OpenHQM ${options.e2eRequests} echo requests (1 × openhqm api + 2 × openhqm worker, NATS queue, Redis store)`, split.perSecond, { rssMb: split.rssMb, ratioTo: client.combined });
  return { client, e2eAllInOne: allInOne.perSecond };
}

/** Runs `work` with the environment of a NATS queue and a Redis store, each under prefixes of the run's own, removed afterwards. */
function withBoth<T>(options: NatsBenchOptions, work: (env: Record<string, string>, redisPrefix: string) => Promise<T>): Promise<T> {
  return withStreams(options.natsUrl, (streamPrefix) =>
    withPrefix(options.redisUrl, (redisPrefix) =>
      work(
        {
          OPENHQM_QUEUE__TYPE: 'nats',
          OPENHQM_QUEUE__NATS_URL: options.natsUrl,
          OPENHQM_NATS__STREAM_PREFIX: streamPrefix,
          OPENHQM_NATS__SUBJECT_PREFIX: streamPrefix.toLowerCase(),
          OPENHQM_CACHE__TYPE: 'redis',
          OPENHQM_CACHE__REDIS_URL: options.redisUrl,
          OPENHQM_REDIS__KEY_PREFIX: redisPrefix,
          OPENHQM_WORKER__COUNT: String(options.inFlight),
        },
        redisPrefix,
      ),
    ),
  );
}

/** Runs `work` under a fresh stream prefix and deletes the streams (and buckets) that start with it afterwards. */
async function withStreams<T>(natsUrl: string, work: (streamPrefix: string) => Promise<T>): Promise<T> {
  const streamPrefix = `HQMBENCH${randomBytes(4).toString('hex')}`;
  try {
    return await work(streamPrefix);
  } finally {
    const nc = await connect({ servers: natsUrl });
    try {
      const jsm = await jetstreamManager(nc);
      const names: string[] = [];
      for await (const name of jsm.streams.names()) if (name.startsWith(streamPrefix) || name.startsWith(`KV_${streamPrefix}`)) names.push(name);
      for (const name of names) await jsm.streams.delete(name).catch(() => false);
    } finally {
      await nc.close();
    }
  }
}

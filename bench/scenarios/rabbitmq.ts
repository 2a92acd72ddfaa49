/**
 * Issue #14 figures on RabbitMQ, all against the same broker in one run: the raw client
 * (rabbitmq-client: confirmed publishes to a quorum queue and a consumer acknowledging each, 64 in
 * flight each; and publishing alone, consuming alone), the bare-Fastify ceiling, and OpenHQM with
 * the RabbitMQ queue and the Redis store — submit rate and latency, and end-to-end with
 * `openhqm start`. The ratio to the raw client is what the adapter (and the gateway around it)
 * costs. Every run names its queues under a prefix of its own and its Redis keys under another,
 * both deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Connection } from 'rabbitmq-client';
import { topologyOf, dueExchange, secretStream } from '../../src/adapters/queue/rabbitmq/names.js';
import { runAnchor } from '../lib/anchor.js';
import { measureEndToEnd, measureSubmit } from '../lib/measure.js';
import { CLI, cpuProfileArgs, startServer } from '../lib/process.js';
import type { Report } from '../lib/report.js';
import { completions } from './redis.js';

const BARE = fileURLToPath(new URL('../bare-fastify.ts', import.meta.url));
const ANCHOR = fileURLToPath(new URL('../rabbitmq-anchor.ts', import.meta.url));

export interface RabbitBenchOptions {
  readonly rabbitUrl: string;
  readonly redisUrl: string;
  readonly durationS: number;
  readonly e2eRequests: number;
  readonly connections: number;
  readonly inFlight: number;
  readonly profileDir?: string;
}

export interface RabbitFigures {
  readonly raw: { combined: number; publishes: number; consuming: number };
  readonly e2eAllInOne: number;
}

export async function rabbitmqScenario(report: Report, options: RabbitBenchOptions): Promise<RabbitFigures> {
  const raw = await runAnchor<RabbitFigures['raw']>('rabbitmq-client', ANCHOR, {
    RABBITMQ_URL: options.rabbitUrl,
    QUEUE_PREFIX: `hqm-bench-${randomUUID().slice(0, 8)}.`,
    JOBS: String(options.e2eRequests),
    IN_FLIGHT: String(options.inFlight),
  });
  report.rate('anchor', `rabbitmq-client confirmed publish + consume/ack, quorum queue, one process (${options.e2eRequests} messages, ${options.inFlight} in flight)`, raw.combined, { unit: 'msgs/s' });
  report.rate('anchor', 'rabbitmq-client publishing alone (confirmed)', raw.publishes, { unit: 'msgs/s' });
  report.rate('anchor', 'rabbitmq-client consuming alone', raw.consuming, { unit: 'msgs/s' });

  const bare = await measureSubmit('bare Fastify (202, no work), 50 connections', { args: [BARE], nodeArgs: ['--import', 'tsx'] }, options);
  report.row('submit', bare.label, bare.result, { rssMb: bare.rssMb });

  const api = await withPrefixes(options, (prefix) =>
    measureSubmit(`OpenHQM submit (openhqm api, RabbitMQ queue, Redis store), ${options.connections} connections`, { args: [CLI, 'api'], env: rabbitEnv(options, prefix), nodeArgs: cpuProfileArgs(options.profileDir, 'submit') }, options),
  );
  report.row('submit', api.label, api.result, { rssMb: api.rssMb, ratioTo: bare.result });
  report.rate('submit', 'the same submits per second, beside the raw client publishing alone', api.result.requestsPerSecond, { ratioTo: raw.publishes });

  const e2e = await withPrefixes(options, async (prefix) => {
    const server = await startServer([CLI, 'start'], rabbitEnv(options, prefix), cpuProfileArgs(options.profileDir, 'start'));
    const counter = await completions(options.redisUrl, prefix);
    try {
      return await measureEndToEnd(server, { requests: options.e2eRequests, connections: options.inFlight, completed: () => counter.count });
    } finally {
      counter.close();
      await server.stop();
    }
  });
  report.rate('end-to-end', `OpenHQM ${options.e2eRequests} echo requests, submit → COMPLETED (openhqm start, RabbitMQ queue, Redis store, ${options.inFlight} in flight)`, e2e.perSecond, { rssMb: e2e.rssMb, ratioTo: raw.combined });
  return { raw, e2eAllInOne: e2e.perSecond };
}

function rabbitEnv(options: RabbitBenchOptions, prefix: string): Record<string, string> {
  return {
    OPENHQM_QUEUE__TYPE: 'rabbitmq',
    OPENHQM_CACHE__TYPE: 'redis',
    OPENHQM_QUEUE__RABBITMQ_URL: options.rabbitUrl,
    OPENHQM_CACHE__REDIS_URL: options.redisUrl,
    OPENHQM_RABBITMQ__PREFIX: `${prefix}.`,
    OPENHQM_REDIS__KEY_PREFIX: prefix,
    OPENHQM_WORKER__COUNT: String(options.inFlight),
  };
}

/** Runs `work` under a fresh prefix, then deletes its queues, exchange and Redis keys. */
async function withPrefixes<T>(options: RabbitBenchOptions, work: (prefix: string) => Promise<T>): Promise<T> {
  const prefix = `hqm-bench-${randomUUID().slice(0, 8)}`;
  try {
    return await work(prefix);
  } finally {
    const topology = topologyOf(`${prefix}.`, 'openhqm-requests', [5, 9]);
    const conn = new Connection(options.rabbitUrl);
    try {
      const ch = await conn.acquire();
      for (const queue of [...topology.bands.map((b) => b.queue), ...topology.tiers.map((t) => t.queue), topology.dead, secretStream(`${prefix}.`)]) await ch.queueDelete({ queue });
      await ch.exchangeDelete({ exchange: dueExchange(`${prefix}.`) });
      await ch.close();
    } finally {
      await conn.close();
    }
    const redis = new Redis(options.redisUrl);
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }
}

/**
 * Pub/Sub figures, all against one emulator in one run (the Cloud SDK's, started here and killed
 * after): Google's client publishing and consuming raw messages (together, and each alone), the
 * bare-Fastify ceiling, and OpenHQM with the gcp_pubsub queue and the machine's Redis as the
 * result store — submit rate and latency, and end-to-end with `openhqm start`. The ratio to the
 * raw client is what the adapter (unary publishes and pulls, D250, and the gateway around it)
 * costs. The emulator is one JVM on a machine the load generator shares: its figures compare the
 * two paths, they do not say what Google's service sustains.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startPubSubEmulator } from '../../test/helpers/pubsub.js';
import { runAnchor } from '../lib/anchor.js';
import { measureEndToEnd, measureSubmit } from '../lib/measure.js';
import { CLI, cpuProfileArgs, startServer } from '../lib/process.js';
import type { Report } from '../lib/report.js';
import { completions, withPrefix } from './redis.js';

const BARE = fileURLToPath(new URL('../bare-fastify.ts', import.meta.url));
const ANCHOR = fileURLToPath(new URL('../gcp-pubsub-anchor.ts', import.meta.url));

export interface PubSubBenchOptions {
  readonly redisUrl: string;
  readonly durationS: number;
  readonly e2eRequests: number;
  readonly connections: number;
  readonly inFlight: number;
  readonly profileDir?: string;
}

export interface PubSubFigures {
  readonly raw: { combined: number; publishes: number; consuming: number };
  readonly e2eAllInOne: number;
}

export async function gcpPubsubScenario(report: Report, options: PubSubBenchOptions): Promise<PubSubFigures> {
  const emulator = await startPubSubEmulator();
  try {
    const raw = await runAnchor<PubSubFigures['raw']>('@google-cloud/pubsub', ANCHOR, {
      PUBSUB_ENDPOINT: emulator.endpoint,
      TOPIC_PREFIX: `hqm-bench-${randomUUID().slice(0, 8)}.`,
      JOBS: String(options.e2eRequests),
      IN_FLIGHT: String(options.inFlight),
    });
    report.rate('anchor', `@google-cloud/pubsub publish + streaming pull/ack, one process (${options.e2eRequests} messages, ${options.inFlight} in flight)`, raw.combined, { unit: 'msgs/s' });
    report.rate('anchor', '@google-cloud/pubsub publishing alone (batched)', raw.publishes, { unit: 'msgs/s' });
    report.rate('anchor', '@google-cloud/pubsub consuming alone (streaming pull)', raw.consuming, { unit: 'msgs/s' });

    const bare = await measureSubmit('bare Fastify (202, no work), 50 connections', { args: [BARE], nodeArgs: ['--import', 'tsx'] }, options);
    report.row('submit', bare.label, bare.result, { rssMb: bare.rssMb });

    const api = await withPrefix(options.redisUrl, (prefix) =>
      measureSubmit(`OpenHQM submit (openhqm api, Pub/Sub queue, Redis store), ${options.connections} connections`, { args: [CLI, 'api'], env: pubsubEnv(options, emulator.endpoint, prefix), nodeArgs: cpuProfileArgs(options.profileDir, 'submit') }, options),
    );
    report.row('submit', api.label, api.result, { rssMb: api.rssMb, ratioTo: bare.result });
    report.rate('submit', 'the same submits per second, beside the raw client publishing alone', api.result.requestsPerSecond, { ratioTo: raw.publishes });

    const e2e = await withPrefix(options.redisUrl, async (prefix) => {
      const server = await startServer([CLI, 'start'], pubsubEnv(options, emulator.endpoint, prefix), cpuProfileArgs(options.profileDir, 'start'));
      const counter = await completions(options.redisUrl, prefix);
      try {
        return await measureEndToEnd(server, { requests: options.e2eRequests, connections: options.inFlight, completed: () => counter.count });
      } finally {
        counter.close();
        await server.stop();
      }
    });
    report.rate('end-to-end', `OpenHQM ${options.e2eRequests} echo requests, submit → COMPLETED (openhqm start, Pub/Sub queue, Redis store, ${options.inFlight} in flight)`, e2e.perSecond, { rssMb: e2e.rssMb, ratioTo: raw.combined });
    return { raw, e2eAllInOne: e2e.perSecond };
  } finally {
    // Everything the run created lives in the emulator's memory: it goes with it.
    await emulator.stop();
  }
}

function pubsubEnv(options: PubSubBenchOptions, endpoint: string, prefix: string): Record<string, string> {
  return {
    OPENHQM_QUEUE__TYPE: 'gcp_pubsub',
    OPENHQM_QUEUE__GCP_PROJECT_ID: 'hqm-bench',
    OPENHQM_GCP_PUBSUB__ENDPOINT: endpoint,
    OPENHQM_GCP_PUBSUB__PREFIX: `${prefix}.`,
    // Pulls as large as the worker's slots: 64 in flight.
    OPENHQM_QUEUE__GCP_MAX_MESSAGES: String(options.inFlight),
    OPENHQM_CACHE__TYPE: 'redis',
    OPENHQM_CACHE__REDIS_URL: options.redisUrl,
    OPENHQM_REDIS__KEY_PREFIX: prefix,
    OPENHQM_WORKER__COUNT: String(options.inFlight),
  };
}

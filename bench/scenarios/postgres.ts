/**
 * Issue #13 figures on PostgreSQL, all against the same server in one run: pg-boss (send and work
 * in one process, 64 sends in flight, 64 jobs in flight in its workers; and sending alone, working
 * alone), the bare-Fastify ceiling, and OpenHQM on PostgreSQL — submit rate and latency, batch
 * submit (1,000 per request) in items/s, end-to-end with `openhqm start` (counted by NOTIFY, and
 * as clients see it: ?wait= clients, and clients that submit then ask GET /response?wait=),
 * end-to-end with one `openhqm api` and two `openhqm worker` processes, and GET /response
 * latency. The submit rows are measured with autocannon and, where installed, wrk. Every run gets a
 * schema of its own, dropped afterwards, so the database (`test` by default) is left as found.
 *
 * With `profileDir`, the OpenHQM server processes run under `node --cpu-prof`.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runAnchor } from '../lib/anchor.js';
import { clientRows, type ClientFigures } from '../lib/clients.js';
import { BATCH_SIZE, type LoadResult } from '../lib/load.js';
import { BATCH_CONNECTIONS, BATCH_SUBMIT, LOAD_TOOLS, measureEndToEnd, measureResponseLatency, measureSubmit, type LoadTool } from '../lib/measure.js';
import { CLI, cpuProfileArgs, startServer, type Server } from '../lib/process.js';
import type { Report } from '../lib/report.js';

const BARE = fileURLToPath(new URL('../bare-fastify.ts', import.meta.url));
const ANCHOR = fileURLToPath(new URL('../pgboss-anchor.ts', import.meta.url));

export interface PostgresBenchOptions {
  readonly postgresUrl: string;
  readonly durationS: number;
  readonly e2eRequests: number;
  /** Connections for the submit-latency target (p99 at 50 connections). */
  readonly connections: number;
  /** Requests in flight for the end-to-end runs and pg-boss's sends and workers. */
  readonly inFlight: number;
  readonly profileDir?: string;
}

export interface PgBossFigures {
  readonly combined: number;
  readonly sends: number;
  readonly working: number;
}

export interface PostgresFigures {
  readonly pgboss: PgBossFigures;
  readonly e2eAllInOne: number;
  /** End to end as clients see it (openhqm start), by how they learn the result. */
  readonly clients: ClientFigures;
}

export async function postgresScenario(report: Report, options: PostgresBenchOptions): Promise<PostgresFigures> {
  const pgboss = await withSchema(options.postgresUrl, (schema) =>
    runAnchor<PgBossFigures>('pg-boss', ANCHOR, { POSTGRES_URL: options.postgresUrl, PGBOSS_SCHEMA: schema, JOBS: String(options.e2eRequests), IN_FLIGHT: String(options.inFlight) }),
  );
  report.rate('anchor', `pg-boss send + work in one process (${options.e2eRequests} jobs, ${options.inFlight} sends in flight, ${options.inFlight} jobs in flight in 4 workers)`, pgboss.combined, { unit: 'jobs/s' });
  report.rate('anchor', 'pg-boss sending alone', pgboss.sends, { unit: 'jobs/s' });
  report.rate('anchor', 'pg-boss working alone', pgboss.working, { unit: 'jobs/s' });

  const bare = new Map<LoadTool, LoadResult>();
  for (const tool of LOAD_TOOLS) {
    const measured = await measureSubmit(`bare Fastify (202, no work), 50 connections, ${tool}`, { args: [BARE], nodeArgs: ['--import', 'tsx'] }, { ...options, tool });
    report.row('submit', measured.label, measured.result, { rssMb: measured.rssMb });
    bare.set(tool, measured.result);
  }

  let single: LoadResult | undefined;
  for (const tool of LOAD_TOOLS) {
    for (const connections of [options.connections, options.inFlight]) {
      const api = await withSchema(options.postgresUrl, (schema) =>
        measureSubmit(`OpenHQM submit (openhqm api, PostgreSQL), ${connections} connections, ${tool}`, { args: [CLI, 'api'], env: postgresEnv(options, schema), nodeArgs: cpuProfileArgs(options.profileDir, `submit-${tool}`) }, { ...options, connections, tool }),
      );
      report.row('submit', api.label, api.result, { rssMb: api.rssMb, ratioTo: bare.get(tool) });
      single ??= api.result;
    }
  }
  // Beside the single submits: items per second, its ratio to single submits per second.
  const batch = await withSchema(options.postgresUrl, (schema) =>
    measureSubmit(`OpenHQM batch submit, ${BATCH_SIZE} per request (openhqm api, PostgreSQL), ${BATCH_CONNECTIONS} connections`, { args: [CLI, 'api'], env: postgresEnv(options, schema), nodeArgs: cpuProfileArgs(options.profileDir, 'batch') }, { ...options, connections: BATCH_CONNECTIONS, request: BATCH_SUBMIT }),
  );
  report.items('submit', batch.label, batch.result, BATCH_SIZE, { rssMb: batch.rssMb, ratioTo: single });

  const allInOne = await withSchema(options.postgresUrl, (schema) => endToEndAllInOne(report, options, schema));
  report.rate('end-to-end', `OpenHQM ${options.e2eRequests} echo requests, submit → COMPLETED (openhqm start, PostgreSQL, ${options.inFlight} in flight)`, allInOne.perSecond, { rssMb: allInOne.rssMb, ratioTo: pgboss.combined });

  const clients = await clientRows(report, {
    backend: 'PostgreSQL',
    requests: options.e2eRequests,
    connections: options.inFlight,
    durationS: options.durationS,
    anchor: pgboss.combined,
    start: (measure) =>
      withSchema(options.postgresUrl, async (schema) => {
        const server = await startServer([CLI, 'start'], postgresEnv(options, schema), cpuProfileArgs(options.profileDir, 'start-clients'));
        try {
          return await measure(server);
        } finally {
          await server.stop();
        }
      }),
  });

  const split = await withSchema(options.postgresUrl, (schema) => endToEndSplit(options, schema));
  report.rate('end-to-end', `OpenHQM ${options.e2eRequests} echo requests (1 × openhqm api + 2 × openhqm worker, PostgreSQL)`, split.perSecond, { rssMb: split.rssMb, ratioTo: pgboss.combined });
  return { pgboss, e2eAllInOne: allInOne.perSecond, clients };
}

function postgresEnv(options: PostgresBenchOptions, schema: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OPENHQM_QUEUE__TYPE: 'postgres',
    OPENHQM_CACHE__TYPE: 'postgres',
    OPENHQM_QUEUE__POSTGRES_URL: options.postgresUrl,
    OPENHQM_CACHE__POSTGRES_URL: options.postgresUrl,
    OPENHQM_POSTGRES__SCHEMA: schema,
    OPENHQM_WORKER__COUNT: String(options.inFlight),
    ...extra,
  };
}

async function endToEndAllInOne(report: Report, options: PostgresBenchOptions, schema: string): Promise<{ perSecond: number; rssMb: number }> {
  const server = await startServer([CLI, 'start'], postgresEnv(options, schema), cpuProfileArgs(options.profileDir, 'start'));
  const counter = await completions(options.postgresUrl, schema);
  try {
    const e2e = await measureEndToEnd(server, { requests: options.e2eRequests, connections: options.inFlight, completed: () => counter.count });
    const read = await measureResponseLatency(server, options);
    report.row('read', `OpenHQM GET /response of a finished request (openhqm start, PostgreSQL), ${options.connections} connections`, read);
    return e2e;
  } finally {
    await counter.close();
    await server.stop();
  }
}

async function endToEndSplit(options: PostgresBenchOptions, schema: string): Promise<{ perSecond: number; rssMb: number }> {
  const processes: Server[] = [];
  // LISTEN needs no table: the counter listens before the API process creates the schema.
  const counter = await completions(options.postgresUrl, schema);
  try {
    processes.push(await startServer([CLI, 'api'], postgresEnv(options, schema), cpuProfileArgs(options.profileDir, 'api')));
    for (const n of [1, 2]) processes.push(await startServer([CLI, 'worker'], postgresEnv(options, schema, { OPENHQM_WORKER__ID: `bench-${n}` }), cpuProfileArgs(options.profileDir, `worker-${n}`)));
    return await measureEndToEnd(processes[0] as Server, { requests: options.e2eRequests, connections: options.inFlight, completed: () => counter.count, sampleRssOf: processes });
  } finally {
    await counter.close();
    await Promise.all(processes.map((p) => p.stop()));
  }
}

/**
 * Counts COMPLETED transitions in a schema from the store's change feed: the NOTIFY every
 * transition sends on `openhqm.store.<schema>` (payload `{"i": id, "s": status, …}`), the channel
 * the store's own processes listen on.
 */
async function completions(postgresUrl: string, schema: string): Promise<{ readonly count: number; close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  let count = 0;
  client.on('notification', (message) => {
    try {
      if ((JSON.parse(message.payload ?? '{}') as { s?: string }).s === 'COMPLETED') count += 1;
    } catch {
      // Not a transition of ours: nothing to count.
    }
  });
  await client.query(`LISTEN "openhqm.store.${schema}"`);
  return {
    get count() {
      return count;
    },
    close: () => client.end(),
  };
}

/** Runs `work` in a fresh schema (a plain identifier, as `postgres.schema` requires) and drops it afterwards. */
async function withSchema<T>(postgresUrl: string, work: (schema: string) => Promise<T>): Promise<T> {
  const schema = `hqm_bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  try {
    return await work(schema);
  } finally {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await client.end();
    }
  }
}

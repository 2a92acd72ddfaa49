/**
 * `npm run bench [-- --quick] [-- --write] [-- --only sqlite,proxy,routing,tracing] [-- --backend redis|postgres|nats|kafka|rabbitmq|sqs|gcp_pubsub]
 * [-- --profile] [-- --processes N|auto]`: measures OpenHQM side by side with its anchors in one run on this machine
 * and prints the figures with their ratios. With --write the Markdown table also replaces this
 * backend's section of docs/benchmarks.md. With --backend redis it runs the Redis scenario (Redis at
 * OPENHQM_BENCH_REDIS_URL, default redis://127.0.0.1:6379); with --backend postgres the PostgreSQL
 * one beside pg-boss (PostgreSQL at OPENHQM_BENCH_POSTGRES_URL, default
 * postgres://postgres@127.0.0.1:5432/test, each run in a schema of its own, dropped afterwards);
 * with --backend gcp_pubsub the Pub/Sub queue beside Google's client on an emulator this run starts
 * (the result store on Redis); with --backend nats the NATS JetStream queue beside the NATS client's own publish + consume
 * (NATS at OPENHQM_BENCH_NATS_URL, default nats://127.0.0.1:4222; the result store on Redis);
 * with --backend sqs the SQS queue beside the AWS SDK's own send + receive on a moto server it starts;
 * --profile writes CPU profiles of
 * the server processes to .bench/profiles (summarize one with `node --import tsx bench/profile.ts <file>`);
 * the submit rows are measured with autocannon and, where installed, wrk (`apt-get install wrk`); --processes runs every OpenHQM server with that many
 * processes (server.processes; anchors unchanged), its RSS summed over them, in a section of its own.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ClientFigures } from './lib/clients.js';
import { LOAD_TOOLS } from './lib/measure.js';
import { Report } from './lib/report.js';
import { gcpPubsubScenario, type PubSubFigures } from './scenarios/gcp-pubsub.js';
import { kafkaScenario, type KafkaFigures } from './scenarios/kafka.js';
import { rabbitmqScenario, type RabbitFigures } from './scenarios/rabbitmq.js';
import { postgresScenario, type PostgresFigures } from './scenarios/postgres.js';
import { natsScenario, type NatsFigures } from './scenarios/nats.js';
import { proxyScenario } from './scenarios/proxy.js';
import { redisScenario, type RedisFigures } from './scenarios/redis.js';
import { routingScenario } from './scenarios/routing.js';
import { sqliteScenario } from './scenarios/sqlite.js';
import { sqsScenario, type SqsFigures } from './scenarios/sqs.js';
import { tracingScenario } from './scenarios/tracing.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    backend: { type: 'string', default: 'sqlite' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    processes: { type: 'string' },
  },
});
// A mistyped backend would otherwise measure SQLite under another name.
if (!['sqlite', 'redis', 'postgres', 'nats', 'kafka', 'rabbitmq', 'sqs', 'gcp_pubsub'].includes(values.backend)) throw new Error(`--backend ${values.backend}: expected sqlite, redis, postgres, nats, kafka, rabbitmq, sqs or gcp_pubsub`);
// Every OpenHQM server the scenarios start inherits it (the anchors ignore it).
if (values.processes !== undefined) process.env.OPENHQM_SERVER__PROCESSES = values.processes;
/** Scenarios run only when --only names them: the default run stays as long as it was. They --write a section of their own. */
const OPT_IN = new Set(['tracing']);
const optIn = values.only !== undefined && values.only.split(',').every((name) => OPT_IN.has(name));
const section = optIn ? (values.only as string).replaceAll(',', '-') : values.processes === undefined ? values.backend : `${values.backend}-processes-${values.processes}`;

const wanted = (name: string): boolean => (values.only === undefined ? !OPT_IN.has(name) : values.only.split(',').includes(name));

const quick = values.quick === true;
const report = new Report();
/** What every backend scenario is loaded with; the figures of one run compare only under the same load. */
const load = {
  durationS: quick ? 3 : 10,
  e2eRequests: quick ? 5_000 : 20_000,
  connections: 50,
  inFlight: 64,
  ...(values.profile === true ? { profileDir: fileURLToPath(new URL('../.bench/profiles', import.meta.url)) } : {}),
};
/** The result store of the queue-only backends, and the Redis scenario's server. */
const redisUrl = process.env.OPENHQM_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
if (values.backend === 'redis') {
  const figures = await redisScenario(report, {
    redisUrl,
    ...load,
  });
  summarizeRedis(report, figures);
} else if (values.backend === 'postgres') {
  const figures = await postgresScenario(report, {
    postgresUrl: process.env.OPENHQM_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    ...load,
  });
  summarizePostgres(report, figures);
} else if (values.backend === 'nats') {
  const figures = await natsScenario(report, {
    natsUrl: process.env.OPENHQM_BENCH_NATS_URL ?? 'nats://127.0.0.1:4222',
    redisUrl,
    ...load,
  });
  summarizeNats(report, figures);
} else if (values.backend === 'kafka') {
  // Kafka on librdkafka's mock cluster (kcat), with the machine's Redis as the result store.
  const figures = await kafkaScenario(report, {
    redisUrl,
    ...load,
  });
  summarizeKafka(report, figures);
} else if (values.backend === 'rabbitmq') {
  const figures = await rabbitmqScenario(report, {
    rabbitUrl: process.env.OPENHQM_BENCH_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    redisUrl,
    ...load,
  });
  summarizeRabbit(report, figures);
} else if (values.backend === 'sqs') {
  // SQS on a moto server the scenario starts, with the machine's Redis as the result store.
  const figures = await sqsScenario(report, {
    redisUrl,
    ...load,
  });
  summarizeSqs(report, figures);
} else if (values.backend === 'gcp_pubsub') {
  // Pub/Sub on the Cloud SDK's emulator (started by the scenario), with the machine's Redis as the result store.
  const figures = await gcpPubsubScenario(report, {
    redisUrl,
    ...load,
  });
  summarizePubSub(report, figures);
} else {
  if (wanted('sqlite')) await sqliteScenario(report, { durationS: quick ? 3 : 10, e2eRequests: quick ? 5_000 : 20_000, connections: 50 });
  if (wanted('proxy')) await proxyScenario(report, { durationS: quick ? 3 : 10, connections: 50 });
  if (wanted('routing')) await routingScenario(report, { iterations: quick ? 20_000 : 100_000 });
  // Three rounds of four modes: 10,000 end-to-end requests each keeps the whole run near five minutes.
  if (wanted('tracing')) await tracingScenario(report, { durationS: quick ? 3 : 10, e2eRequests: quick ? 5_000 : 10_000, connections: 50, rounds: quick ? 1 : 3 });
  summarize(report);
}
const markdown = report.markdown(`Benchmarks (${optIn ? `${section}, ` : ''}${values.backend}${values.processes === undefined ? '' : `, --processes ${values.processes}`})`);
process.stdout.write(`\n${markdown}`);
if (values.write === true) writeSection(section, markdown);

/** Replaces this backend's section of docs/benchmarks.md, keeping the others. */
function writeSection(backend: string, text: string): void {
  const file = new URL('../docs/benchmarks.md', import.meta.url);
  const begin = `<!-- bench:${backend} -->`;
  const end = `<!-- /bench:${backend} -->`;
  const block = `${begin}\n${text}${end}`;
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\nProduced by `npm run bench -- --write` (SQLite, proxy, routing), `npm run bench -- --backend redis --write`, `npm run bench -- --backend postgres --write` and `npm run bench -- --backend nats --write`.\n';
  const at = doc.indexOf(begin);
  const to = doc.indexOf(end);
  doc = at >= 0 && to > at ? `${doc.slice(0, at)}${block}${doc.slice(to + end.length)}` : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, doc);
}

/** Per load tool: submit against the bare route measured with the same tool, and its p99 at 50 connections. */
function submitTargets(r: Report, apiLabel: (tool: string) => string, min: number): void {
  for (const tool of LOAD_TOOLS) {
    const bare = r.rows.find((row) => row.label === `bare Fastify (202, no work), 50 connections, ${tool}`);
    const api = r.rows.find((row) => row.label === apiLabel(tool));
    if (bare === undefined || api === undefined) continue;
    const ratio = api.rate / bare.rate;
    r.target(`submit ≥ ${min}× bare Fastify (${tool})`, ratio >= min, `${ratio.toFixed(2)}×`);
    r.target(`p99 submit ≤ 10 ms at 50 connections (${tool})`, (api.p99 ?? Infinity) <= 10, `${api.p99?.toFixed(2)} ms`);
  }
  if (!LOAD_TOOLS.includes('wrk')) r.targets.push('⚠ wrk is not installed (apt-get install wrk): the submit rows are autocannon only');
}

/** End to end against an anchor's add + process: completions counted, and as each kind of client sees them. */
function endToEndTargets(r: Report, anchorName: string, anchor: number, counted: number, clients: ClientFigures): void {
  const target = (what: string, rate: number): void => {
    const ratio = rate / anchor;
    r.target(`end-to-end (openhqm start, with the HTTP hop), ${what} ≥ 1.0× ${anchorName}`, ratio >= 1, `${ratio.toFixed(2)}× (${Math.round(rate)} vs ${Math.round(anchor)} per s)`);
  };
  target('completions counted', counted);
  target('?wait= clients', clients.wait);
  if (clients.waitWrk !== undefined) target('?wait= clients under wrk', clients.waitWrk);
  target('clients that submit then GET /response?wait=', clients.thenGet);
}

function summarize(r: Report): void {
  const api = r.rows.find((row) => row.label === 'OpenHQM submit (openhqm api, SQLite), 50 connections, autocannon');
  const e2e = r.rows.find((row) => row.group === 'end-to-end');
  submitTargets(r, (tool) => `OpenHQM submit (openhqm api, SQLite), 50 connections, ${tool}`, 0.5);
  if (api !== undefined) r.target('RSS ≤ 150 MB under submit load', (api.rssMb ?? Infinity) <= 150, `${api.rssMb?.toFixed(0)} MB`);
  if (e2e !== undefined) {
    r.target('end-to-end ≥ 5,000 requests/s', e2e.rate >= 5000, `${Math.round(e2e.rate)} req/s`);
    r.target('RSS ≤ 150 MB end to end', (e2e.rssMb ?? Infinity) <= 150, `${e2e.rssMb?.toFixed(0)} MB`);
  }
}

function summarizeRedis(r: Report, figures: RedisFigures): void {
  const read = r.rows.find((row) => row.label.startsWith('OpenHQM GET /response'));
  submitTargets(r, (tool) => `OpenHQM submit (openhqm api, Redis), 50 connections, ${tool}`, 0.6);
  endToEndTargets(r, 'BullMQ add + process', figures.bullmq.combined, figures.e2eAllInOne, figures.clients);
  if (read !== undefined) r.target('p99 GET /response ≤ 5 ms', (read.p99 ?? Infinity) <= 5, `${read.p99?.toFixed(2)} ms`);
}

function summarizePostgres(r: Report, figures: PostgresFigures): void {
  submitTargets(r, (tool) => `OpenHQM submit (openhqm api, PostgreSQL), 50 connections, ${tool}`, 0.6);
  endToEndTargets(r, 'pg-boss send + work', figures.pgboss.combined, figures.e2eAllInOne, figures.clients);
}

function summarizeNats(r: Report, figures: NatsFigures): void {
  const find = (prefix: string) => r.rows.find((row) => row.label.startsWith(prefix));
  const bare = find('bare Fastify');
  const api = find('OpenHQM submit (openhqm api, NATS queue, Redis store), 50 connections');
  if (bare !== undefined && api !== undefined) {
    const ratio = api.rate / bare.rate;
    r.target('submit ≥ 0.6× bare Fastify', ratio >= 0.6, `${ratio.toFixed(2)}×`);
    r.target('p99 submit ≤ 10 ms at 50 connections', (api.p99 ?? Infinity) <= 10, `${api.p99?.toFixed(2)} ms`);
  }
  // Not a target: what the adapter (and the HTTP hop, the store, the worker) costs beside the bare client.
  const ratio = figures.e2eAllInOne / figures.client.combined;
  r.target('end-to-end (openhqm start) beside the NATS client publish + consume (reported, no target)', true, `${ratio.toFixed(2)}× (${Math.round(figures.e2eAllInOne)} vs ${Math.round(figures.client.combined)} per s)`);
}

function summarizeKafka(r: Report, figures: KafkaFigures): void {
  const find = (prefix: string) => r.rows.find((row) => row.label.startsWith(prefix));
  const bare = find('bare Fastify');
  const api = find('OpenHQM submit (openhqm api, Kafka queue');
  if (bare !== undefined && api !== undefined) {
    const ratio = api.rate / bare.rate;
    r.target('submit ≥ 0.5× bare Fastify', ratio >= 0.5, `${ratio.toFixed(2)}×`);
    r.target('p99 submit ≤ 10 ms at 50 connections', (api.p99 ?? Infinity) <= 10, `${api.p99?.toFixed(2)} ms`);
  }
  const e2eRatio = figures.e2eAllInOne / figures.kafkajs.combined;
  r.target('end-to-end (openhqm start, with the HTTP hop and the store) ≥ 0.5× kafkajs produce + consume', e2eRatio >= 0.5, `${e2eRatio.toFixed(2)}× (${Math.round(figures.e2eAllInOne)} vs ${Math.round(figures.kafkajs.combined)} per s)`);
}
function summarizeSqs(r: Report, figures: SqsFigures): void {
  const find = (prefix: string) => r.rows.find((row) => row.label.startsWith(prefix));
  const bare = find('bare Fastify');
  const api = find('OpenHQM submit (openhqm api, SQS');
  if (bare !== undefined && api !== undefined) {
    const ratio = api.rate / bare.rate;
    r.target('submit ≥ 0.6× bare Fastify', ratio >= 0.6, `${ratio.toFixed(2)}×`);
  }
  const e2eRatio = figures.e2eAllInOne / figures.raw.combined;
  r.target('end-to-end (openhqm start) beside the raw SDK send + receive/delete', e2eRatio >= 0.5, `${e2eRatio.toFixed(2)}× (${Math.round(figures.e2eAllInOne)} vs ${Math.round(figures.raw.combined)} per s)`);
}

function summarizeRabbit(r: Report, figures: RabbitFigures): void {
  const find = (prefix: string) => r.rows.find((row) => row.label.startsWith(prefix));
  const bare = find('bare Fastify');
  const api = find('OpenHQM submit (openhqm api, RabbitMQ');
  if (bare !== undefined && api !== undefined) {
    const ratio = api.rate / bare.rate;
    r.target('submit ≥ 0.6× bare Fastify', ratio >= 0.6, `${ratio.toFixed(2)}×`);
    r.target('p99 submit ≤ 10 ms at 50 connections', (api.p99 ?? Infinity) <= 10, `${api.p99?.toFixed(2)} ms`);
  }
  const e2eRatio = figures.e2eAllInOne / figures.raw.combined;
  r.target('end-to-end (openhqm start) beside the raw client publish + consume', e2eRatio >= 0.5, `${e2eRatio.toFixed(2)}× (${Math.round(figures.e2eAllInOne)} vs ${Math.round(figures.raw.combined)} per s)`);
}

function summarizePubSub(r: Report, figures: PubSubFigures): void {
  const find = (prefix: string) => r.rows.find((row) => row.label.startsWith(prefix));
  const bare = find('bare Fastify');
  const api = find('OpenHQM submit (openhqm api, Pub/Sub');
  if (bare !== undefined && api !== undefined) {
    const ratio = api.rate / bare.rate;
    r.target('submit ≥ 0.6× bare Fastify', ratio >= 0.6, `${ratio.toFixed(2)}×`);
  }
  const e2eRatio = figures.e2eAllInOne / figures.raw.combined;
  r.target('end-to-end (openhqm start) beside the raw client publish + consume', e2eRatio >= 0.5, `${e2eRatio.toFixed(2)}× (${Math.round(figures.e2eAllInOne)} vs ${Math.round(figures.raw.combined)} per s)`);
}

/**
 * docs/adapters.md's capability table says what every queue backend declares: one row per
 * `queue.type` of the registry, one column per capability value, checked against the values the
 * backend itself reports once opened (Redis, PostgreSQL and NATS on the machine's servers).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventHubsOptionsSchema, eventHubsSettings } from '../../src/adapters/queue/kafka/event-hubs.js';
import { KafkaQueue } from '../../src/adapters/queue/kafka/index.js';
import { queueBackends } from '../../src/adapters/queue/registry.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { QueueBackend, QueueCapabilityValues } from '../../src/ports/queue-backend.js';
import { requireKcat, startMockKafka, type MockKafka } from '../helpers/kafka.js';
import { MQTT_HOST, MQTT_PORT, requireMosquitto, testName } from '../helpers/mqtt.js';
import { dropSchema, POSTGRES_URL, requirePostgres, testSchema } from '../helpers/postgres.js';
import * as rabbit from '../helpers/rabbitmq.js';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix } from '../helpers/redis.js';
import { dropNatsStreams, NATS_URL, natsPrefixes, requireNats } from '../helpers/nats.js';
import { startMoto, type Moto } from '../helpers/sqs.js';
import { exampleProject } from '../helpers/custom-queue.js';
import { requirePubSubEmulator, startPubSubEmulator, type PubSubEmulator } from '../helpers/pubsub.js';
import { tempDir } from '../helpers/temp.js';

const doc = readFileSync(new URL('../../docs/adapters.md', import.meta.url), 'utf8');
const schema = testSchema();
const prefix = testPrefix();
const nats = natsPrefixes();

let kafka: MockKafka | undefined;
/** A mock Kafka cluster, started by the first backend that needs it. */
async function mockKafka(): Promise<MockKafka | { skip: string }> {
  const missing = requireKcat();
  if (missing !== undefined) return missing;
  return (kafka ??= await startMockKafka());
}
const rabbitPrefix = rabbit.testPrefix();
let moto: Moto | undefined;

let pubsub: PubSubEmulator | undefined;

afterAll(async () => {
  await kafka?.stop();
  await moto?.stop();
  await pubsub?.stop();
  if ((await requirePostgres()) === undefined) await dropSchema(schema);
  if ((await requireRedis()) === undefined) await deleteKeys(prefix, { url: REDIS_URL });
  if ((await requireNats()) === undefined) await dropNatsStreams(nats.stream_prefix);
  if ((await rabbit.requireRabbitMQ()) === undefined) rabbit.deleteWithPrefix(rabbitPrefix);
});

/** How each backend is opened here (its options, or the backend itself); a skip reason when its server is not there. */
const settings: Readonly<Record<string, () => Promise<Record<string, unknown> | { skip: string } | { open: () => Promise<QueueBackend> }>>> = {
  memory: async () => ({}),
  sqlite: async () => ({ path: join(tempDir(), 'queue.db') }),
  redis: async () => (await requireRedis()) ?? { redis_url: REDIS_URL, key_prefix: prefix },
  postgres: async () => (await requirePostgres()) ?? { postgres_url: POSTGRES_URL, schema, pool_size: 1 },
  nats: async () => (await requireNats()) ?? { nats_url: NATS_URL, ...nats },
  kafka: async () => {
    const mock = await mockKafka();
    return 'skip' in mock ? mock : { kafka_bootstrap_servers: mock.brokers };
  },
  // The Event Hubs preset on the mock: its namespace's endpoint swapped for the mock's, without TLS and SASL.
  azure_eventhubs: async () => {
    const mock = await mockKafka();
    if ('skip' in mock) return mock;
    const preset = eventHubsSettings(eventHubsOptionsSchema.parse({ azure_eventhubs_connection_string: 'Endpoint=sb://hqm.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=a2V5' }));
    return { open: () => KafkaQueue.open({ ...preset, brokers: mock.brokers.split(','), ssl: false, sasl: null }, silentLogger) };
  },
  rabbitmq: async () => (await rabbit.requireRabbitMQ()) ?? { rabbitmq_url: rabbit.RABBITMQ_URL, prefix: rabbitPrefix },
  // A standard queue on a moto of this file's own (the table's remarks say what FIFO changes).
  sqs: async () => {
    const started = await startMoto();
    if ('skip' in started) return started;
    moto = started;
    return { sqs_endpoint_url: started.endpoint };
  },
  mqtt: async () => (await requireMosquitto()) ?? { mqtt_broker_host: MQTT_HOST, mqtt_broker_port: MQTT_PORT, mqtt_at_most_once: true, mqtt_topic_prefix: testName() },
  custom: async () => ({ custom_module: join(exampleProject(tempDir()), 'queue.js') }),
  gcp_pubsub: async () => {
    const missing = requirePubSubEmulator();
    if (missing !== undefined) return missing;
    pubsub ??= await startPubSubEmulator();
    return { endpoint: pubsub.endpoint, gcp_project_id: 'hqm-doc' };
  },
};

const LONGEST_TIMER_MS = 2_147_483_647;

function duration(ms: number): string {
  if (ms === LONGEST_TIMER_MS) return '~24.8 days';
  if (ms % 1000 === 0 && ms >= 1000) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/** The table's cells for `values`, in its column order. */
function cells(values: QueueCapabilityValues): string[] {
  const { delays, lease } = values;
  return [
    delays === null ? 'none' : `${duration(delays.maxMs)}, ${duration(delays.granularityMs)}`,
    lease === null ? 'none' : `${duration(lease.minMs)} – ${duration(lease.maxMs)}, ${duration(lease.granularityMs)}`,
    values.redelivery,
    values.deliveryCounting,
    values.staleSettles,
    values.priorities,
    values.ordering.replace('-', ' '),
    values.stats,
    values.deadLetterBrowsing ? 'yes' : 'no',
  ];
}

/** The capability table's rows by backend type, each cell without its parenthetical remark. */
function documentedRows(): Map<string, string[]> {
  const start = doc.indexOf('| backend | delays (max, step) |');
  expect(start, 'the capability table').toBeGreaterThan(0);
  const rows = new Map<string, string[]>();
  for (const line of doc.slice(start).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    const [name, ...rest] = line.split('|').slice(1, -1).map((c) => c.trim());
    const type = /^`([a-z_]+)`/.exec(name ?? '')?.[1];
    if (type !== undefined) rows.set(type, rest.map((c) => c.replace(/\s*\(.*\)$/, '')));
  }
  return rows;
}

describe('docs/adapters.md capability table', () => {
  it('has one row per queue backend of the registry', () => {
    expect([...documentedRows().keys()].sort()).toEqual(Object.keys(queueBackends).sort());
  });

  for (const type of Object.keys(queueBackends)) {
    it(`says what ${type} declares`, async (ctx) => {
      const options = await settings[type]?.();
      if (options === undefined) throw new Error(`no settings for ${type}: add them to this test`);
      if ('skip' in options && typeof options.skip === 'string') return ctx.skip(options.skip);
      const { factory } = await queueBackends[type]!();
      const backend = 'open' in options && typeof options.open === 'function' ? await (options.open as () => Promise<QueueBackend>)() : await factory.create(options, { logger: silentLogger });
      try {
        expect(documentedRows().get(type)).toEqual(cells(backend.capabilities));
      } finally {
        await backend.close();
      }
    });
  }
});

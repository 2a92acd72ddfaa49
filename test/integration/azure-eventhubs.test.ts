/**
 * The Event Hubs preset of the Kafka queue, through the Kafka protocol against librdkafka's mock
 * cluster (not against Azure): the settings a connection string makes, with the brokers swapped
 * for the mock's and without TLS and SASL (the mock has neither), pass the conformance suite,
 * and the hub is the default queue's topic.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventHubsOptionsSchema, eventHubsSettings } from '../../src/adapters/queue/kafka/event-hubs.js';
import { KafkaQueue } from '../../src/adapters/queue/kafka/index.js';
import { describeQueueBackend } from '../../src/conformance/index.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { Delivery } from '../../src/ports/queue-backend.js';
import { requireKcat, startMockKafka, type MockKafka } from '../helpers/kafka.js';
import { waitFor } from '../helpers/wait.js';

let mock: MockKafka | undefined;

beforeAll(async () => {
  if (requireKcat() === undefined) mock = await startMockKafka();
});

afterAll(async () => {
  await mock?.stop();
});

const CONNECTION_STRING = 'Endpoint=sb://hqm-test.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=bm90LWEtcmVhbC1rZXk=';

/** The preset's settings for `extra`, pointed at the mock instead of the namespace's TLS/SASL endpoint. */
function onMock(brokers: string, extra: Record<string, unknown> = {}): Parameters<typeof KafkaQueue.open>[0] {
  const settings = eventHubsSettings(
    eventHubsOptionsSchema.parse({
      azure_eventhubs_connection_string: CONNECTION_STRING,
      azure_eventhubs_consumer_group: `hqm-test-${randomUUID()}`,
      session_timeout_ms: 6000,
      heartbeat_interval_ms: 500,
      fetch_max_wait_ms: 50,
      ...extra,
    }),
  );
  expect(settings).toMatchObject({ brokers: ['hqm-test.servicebus.windows.net:9093'], ssl: true, sasl: { username: '$ConnectionString' } });
  return { ...settings, brokers: brokers.split(','), ssl: false, sasl: null };
}

describeQueueBackend('azure_eventhubs (Kafka preset, on the mock cluster)', async () => {
  const missing = requireKcat();
  if (missing !== undefined || mock === undefined) return missing ?? { skip: 'no mock cluster' };
  const brokers = mock.brokers;
  const base = onMock(brokers);
  return {
    open: (extra) => {
      const bounds = eventHubsOptionsSchema.parse({ azure_eventhubs_connection_string: CONNECTION_STRING, ...extra });
      return KafkaQueue.open({ ...base, deadLetterMax: bounds.dead_letter_max, deadLetterRetentionMs: bounds.dead_letter_retention_seconds * 1000 }, silentLogger);
    },
    crash: (backend) => backend.close(),
  };
});

describe('azure_eventhubs preset', () => {
  it('puts the default queue on the Event Hub named by queue.azure_eventhubs_name, and a named queue beside it', async (ctx) => {
    if (mock === undefined) return ctx.skip(requireKcat()?.skip ?? 'no mock');
    const hub = `hub-${randomUUID()}`;
    const q = await KafkaQueue.open(onMock(mock.brokers, { azure_eventhubs_name: hub, request_queue_name: 'requests' }), silentLogger);
    try {
      expect(q.type).toBe('azure_eventhubs');
      await q.publish('requests', { body: 'default' });
      await q.publish('requests.high', { body: 'named' });
      const seen: Delivery[] = [];
      const subs = ['requests', 'requests.high'].map((queue) =>
        q.consume(queue, { concurrency: 1, visibilityTimeoutMs: 30_000 }, async (d) => {
          seen.push(d);
          await d.ack();
        }),
      );
      await waitFor(() => seen.length === 2, { timeoutMs: 30_000, what: 'both messages' });
      await Promise.all(subs.map((s) => s.stop()));
      expect(seen.map((d) => d.body).sort()).toEqual(['default', 'named']);
      expect(q.consumerOf('requests')?.topic).toBe(hub);
      expect(q.consumerOf('requests.high')?.topic).toBe(`${hub}.high`);
    } finally {
      await q.close();
    }
  });
});

/**
 * The Kafka queue against librdkafka's mock cluster (three brokers in a `kcat` process this file
 * starts and stops): the conformance suite, and what is particular to Kafka.
 */
import { afterAll, beforeAll } from 'vitest';
import { factory } from '../../src/adapters/queue/kafka/index.js';
import { describeQueueBackend } from '../../src/conformance/index.js';
import { silentLogger } from '../../src/ports/logger.js';
import { requireKcat, startMockKafka, type MockKafka } from '../helpers/kafka.js';

const context = { logger: silentLogger };
let mock: MockKafka | undefined;

beforeAll(async () => {
  if (requireKcat() === undefined) mock = await startMockKafka();
});

afterAll(async () => {
  await mock?.stop();
});

/** Short session timeouts: a member that goes away hands its partitions over quickly. */
const kafkaTestOptions = (brokers: string): Record<string, unknown> => ({
  kafka_bootstrap_servers: brokers,
  kafka_consumer_group: `hqm-test-${Math.random().toString(36).slice(2)}`,
  session_timeout_ms: 6000,
  heartbeat_interval_ms: 500,
  // librdkafka's mock answers a fetch only when its wait is over, not when records arrive.
  fetch_max_wait_ms: 50,
});

describeQueueBackend('kafka', async () => {
  const missing = requireKcat();
  if (missing !== undefined || mock === undefined) return missing ?? { skip: 'no mock cluster' };
  const brokers = mock.brokers;
  const options = kafkaTestOptions(brokers);
  return {
    open: (extra) => factory.create({ ...options, ...extra }, context),
    // Closing leaves the group without committing what was held: the next member reads it again.
    crash: (backend) => backend.close(),
    unreachable: async () => {
      const own = await startMockKafka();
      const queue = await factory.create({ ...options, kafka_bootstrap_servers: own.brokers, request_timeout_ms: 1000, connection_timeout_ms: 500 }, context);
      await own.stop();
      try {
        return await queue.health();
      } finally {
        await queue.close();
      }
    },
  };
});

/**
 * The RabbitMQ queue against the machine's broker (127.0.0.1:5672, guest/guest). Every run of this
 * file names its queues under a prefix of its own, deleted afterwards.
 */
import { afterAll, afterEach } from 'vitest';
import { factory } from '../../src/adapters/queue/rabbitmq/index.js';
import { describeQueueBackend } from '../../src/conformance/index.js';
import type { HealthReport } from '../../src/ports/health.js';
import { silentLogger } from '../../src/ports/logger.js';
import { deleteWithPrefix, RABBITMQ_URL, requireRabbitMQ, testPrefix } from '../helpers/rabbitmq.js';
import { vanishingProxy } from '../helpers/vanishing-proxy.js';

const context = { logger: silentLogger };
const prefix = testPrefix();
const connection = { rabbitmq_url: RABBITMQ_URL, prefix, connect_timeout_ms: 2000 };

// After the suite's own afterEach has closed the test's backends (hooks unwind inner first).
afterEach(() => deleteWithPrefix(prefix));
afterAll(() => deleteWithPrefix(prefix));

describeQueueBackend('rabbitmq', async () => {
  const missing = await requireRabbitMQ();
  if (missing !== undefined) return missing;
  return {
    open: (extra) => factory.create({ ...connection, ...extra }, context),
    // Closing the connection without settling is what a crash does to a session: the broker
    // requeues whatever its channels held.
    crash: (backend) => backend.close(),
    unreachable: unreachableHealth,
  };
});

/** health() of a queue whose connection went through a proxy that then vanished. */
async function unreachableHealth(): Promise<HealthReport> {
  const target = new URL(RABBITMQ_URL);
  const proxy = await vanishingProxy(target.hostname, Number(target.port || 5672));
  const url = new URL(RABBITMQ_URL);
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  const queue = await factory.create({ ...connection, rabbitmq_url: url.toString() }, context);
  proxy.vanish();
  try {
    // The client notices the closed socket on its next turn.
    for (let i = 0; i < 100 && (await queue.health()).ok; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    return await queue.health();
  } finally {
    await queue.close();
  }
}

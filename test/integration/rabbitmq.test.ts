/**
 * The RabbitMQ queue against the machine's broker (127.0.0.1:5672, guest/guest). Every run of this
 * file names its queues under a prefix of its own, deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { factory } from '../../src/adapters/queue/rabbitmq/index.js';
import { describeQueueBackend } from '../../src/conformance/index.js';
import type { HealthReport } from '../../src/ports/health.js';
import { silentLogger } from '../../src/ports/logger.js';
import { deleteWithPrefix, RABBITMQ_URL, requireRabbitMQ, testPrefix } from '../helpers/rabbitmq.js';
import { vanishingProxy } from '../helpers/vanishing-proxy.js';
import { waitFor } from '../helpers/wait.js';

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

describe('rabbitmq dead letters across processes', () => {
  it('shows a dead letter written by one process to another, in its stats and its pages', async (ctx) => {
    const missing = await requireRabbitMQ();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const queue = `hqm-test-${randomUUID()}`;
    const [writer, reader] = [await factory.create(connection, context), await factory.create(connection, context)];
    try {
      // The reader looks first: its view follows the stream from then on.
      expect((await reader.stats(queue)).deadLettered).toBe(0);
      await writer.publish(queue, { body: 'poison' });
      const sub = writer.consume(queue, { concurrency: 1, visibilityTimeoutMs: 30_000 }, (d) => d.deadLetter('no good'));
      await waitFor(async () => (await reader.stats(queue)).deadLettered === 1, { what: 'the other process to count the dead letter' });
      await sub.stop();
      const page = await reader.browseDeadLetters(queue, { limit: 10 });
      expect(page.letters).toMatchObject([{ body: 'poison', reason: 'no good', attempts: 1 }]);
      // Removed by the reader: gone for the writer too, once it reads.
      expect(await reader.removeDeadLetter(queue, page.letters[0]?.id ?? '')).toBe(true);
      expect((await writer.browseDeadLetters(queue, { limit: 10 })).letters).toEqual([]);
    } finally {
      await Promise.all([writer.close(), reader.close()]);
    }
  });
});

/**
 * Queue → HTTP on RabbitMQ: an outside producer, with nothing but an AMQP client (no OpenHQM
 * code), publishes bare JSON to the request queue; `openhqm start` forwards each message to the
 * upstream and stores its result under an id of its own. One message carries an AMQP message id
 * and timestamp (its identity as it is); the other carries neither (the adapter adopts it: D223).
 * On the machine's broker, under a name prefix of this run's own, deleted afterwards.
 */
import { join } from 'node:path';
import { Connection } from 'rabbitmq-client';
import { afterAll, describe, expect, it } from 'vitest';
import { getJson, startCli } from '../helpers/cli.js';
import { deleteWithPrefix, RABBITMQ_URL, requireRabbitMQ, testPrefix } from '../helpers/rabbitmq.js';
import { tempDir } from '../helpers/temp.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

describe('RabbitMQ: Queue → HTTP', () => {
  const dir = tempDir();
  const prefix = testPrefix();
  afterAll(() => deleteWithPrefix(prefix));

  it('forwards bare JSON an outside AMQP producer published, and stores each result under its own id', async (ctx) => {
    const missing = await requireRabbitMQ();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const upstream = await startUpstream();
    const server = await startCli(['start'], {
      OPENHQM_QUEUE__TYPE: 'rabbitmq',
      OPENHQM_QUEUE__RABBITMQ_URL: RABBITMQ_URL,
      OPENHQM_RABBITMQ__PREFIX: prefix,
      OPENHQM_SQLITE__PATH: join(dir, 'bridge.db'),
      OPENHQM_PROXY__ENABLED: 'true',
      OPENHQM_PROXY__DEFAULT_ENDPOINT: `${upstream.url}/echo/hook`,
    }).ready();
    const producer = new Connection(RABBITMQ_URL);
    try {
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).status === 200, { what: 'ready' });
      const channel = await producer.acquire();
      await channel.confirmSelect();
      const queue = `${prefix}openhqm-requests`;
      // As any AMQP producer would: one with a message id (and the client's timestamp), one with neither.
      await channel.basicPublish({ routingKey: queue, messageId: 'order-1', durable: true }, { event: 'signup', user: 7 });
      await channel.basicPublish({ routingKey: queue, timestamp: 0 }, Buffer.from(JSON.stringify([1, 2, 3])));
      await channel.close();

      await waitFor(() => upstream.received.length === 2, { what: 'both messages forwarded' });
      const bodies = upstream.received.map((r) => JSON.parse(r.body.toString()) as unknown);
      expect(bodies).toEqual(expect.arrayContaining([{ event: 'signup', user: 7 }, { value: [1, 2, 3] }]));
      const ids = upstream.received.map((r) => r.headers['x-correlation-id'] as string);
      expect(new Set(ids).size).toBe(2);
      for (const id of ids) {
        const result = await waitFor(async () => {
          const res = await getJson(`${server.url}/api/v1/response/${id}`);
          return res.status === 200 ? res.body : undefined;
        }, { what: `the result of ${id}` });
        expect(result).toMatchObject({ status: 'COMPLETED', status_code: 200 });
      }
      // Forwarded once each: nothing more arrives once the queue is empty.
      await waitFor(async () => {
        const stats = (await getJson(`${server.url}/api/v1/queues`)).body as { queues?: Array<{ depth?: number; in_flight?: number }> };
        const q = stats.queues?.[0];
        return q !== undefined && q.depth === 0 && q.in_flight === 0;
      }, { what: 'an empty queue' });
      expect(upstream.received).toHaveLength(2);
      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      await producer.close().catch(() => producer.unsafeDestroy());
      server.kill('SIGKILL');
      await server.exited;
    }
  }, 60_000);
});

/**
 * Queue → HTTP on SQS: an outside producer, with nothing but the AWS SDK (no OpenHQM code), sends
 * bare JSON to the request queue; `openhqm start` forwards it to the upstream and stores its
 * result under an id of its own (the adapter adopts a message without OpenHQM's attributes, D243).
 * On a moto server of this file's own.
 */
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startCli } from '../helpers/cli.js';
import { startMoto, type Moto } from '../helpers/sqs.js';
import { tempDir } from '../helpers/temp.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

describe('SQS: Queue → HTTP', () => {
  const dir = tempDir();
  let moto: Moto | { skip: string } = { skip: 'moto not started' };
  beforeAll(async () => {
    moto = await startMoto();
  }, 60_000);
  afterAll(async () => {
    if (!('skip' in moto)) await moto.stop();
  });

  it('forwards bare JSON an outside SDK producer sent, and stores its result under its own id', async (ctx) => {
    if ('skip' in moto) return ctx.skip(moto.skip);
    const m = moto;
    const upstream = await startUpstream();
    const sqs = new SQSClient({ region: 'us-east-1', endpoint: m.endpoint });
    // The operator's queue, made beforehand as on AWS; OpenHQM adds its dead-letter queue and redrive policy.
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'orders' }));
    const server = await startCli(['start'], {
      OPENHQM_QUEUE__TYPE: 'sqs',
      OPENHQM_QUEUE__SQS_ENDPOINT_URL: m.endpoint,
      OPENHQM_QUEUE__SQS_QUEUE_URL: QueueUrl ?? '',
      OPENHQM_SQLITE__PATH: join(dir, 'bridge.db'),
      OPENHQM_PROXY__ENABLED: 'true',
      OPENHQM_PROXY__DEFAULT_ENDPOINT: `${upstream.url}/echo/hook`,
    }).ready();
    try {
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).status === 200, { what: 'ready' });
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify({ event: 'signup', user: 7 }) }));

      await waitFor(() => upstream.received.length === 1, { what: 'the message forwarded' });
      expect(JSON.parse(upstream.received[0]?.body.toString() ?? '')).toEqual({ event: 'signup', user: 7 });
      const id = upstream.received[0]?.headers['x-correlation-id'] as string;
      const result = await waitFor(async () => {
        const res = await getJson(`${server.url}/api/v1/response/${id}`);
        return res.status === 200 ? res.body : undefined;
      }, { what: `the result of ${id}` });
      expect(result).toMatchObject({ status: 'COMPLETED', status_code: 200 });
      // Forwarded once: nothing more arrives once the queue is empty.
      await waitFor(async () => {
        const stats = (await getJson(`${server.url}/api/v1/queues`)).body as { queues?: Array<{ depth?: number; in_flight?: number }> };
        const q = stats.queues?.[0];
        return q !== undefined && q.depth === 0 && q.in_flight === 0;
      }, { what: 'an empty queue' });
      expect(upstream.received).toHaveLength(1);
      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      sqs.destroy();
      server.kill('SIGKILL');
      await server.exited;
    }
  }, 90_000);
});

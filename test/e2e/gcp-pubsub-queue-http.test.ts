/**
 * Queue → HTTP on Pub/Sub: an outside producer, with nothing but Google's Pub/Sub client (no
 * OpenHQM code), publishes bare JSON to the request topic; `openhqm start` forwards each message
 * to the upstream and stores its result under an id of its own (keyed by Pub/Sub's message id).
 * On an emulator this file starts and kills.
 */
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startCli } from '../helpers/cli.js';
import { requirePubSubEmulator, startPubSubEmulator, type PubSubEmulator } from '../helpers/pubsub.js';
import { tempDir } from '../helpers/temp.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

describe('Pub/Sub: Queue → HTTP', () => {
  const dir = tempDir();
  let emulator: PubSubEmulator | undefined;
  beforeAll(async () => {
    if (requirePubSubEmulator() === undefined) emulator = await startPubSubEmulator();
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  it('forwards bare JSON an outside Pub/Sub publisher wrote, and stores each result under its own id', async (ctx) => {
    const missing = requirePubSubEmulator();
    if (missing !== undefined || emulator === undefined) return ctx.skip(missing?.skip ?? 'no emulator');
    const upstream = await startUpstream();
    const server = await startCli(['start'], {
      OPENHQM_QUEUE__TYPE: 'gcp_pubsub',
      OPENHQM_QUEUE__GCP_PROJECT_ID: 'hqm-bridge',
      OPENHQM_GCP_PUBSUB__ENDPOINT: emulator.endpoint,
      OPENHQM_GCP_PUBSUB__PREFIX: 'bridge.',
      OPENHQM_SQLITE__PATH: join(dir, 'bridge.db'),
      OPENHQM_PROXY__ENABLED: 'true',
      OPENHQM_PROXY__DEFAULT_ENDPOINT: `${upstream.url}/echo/hook`,
    }).ready();
    const producer = new PubSub({ projectId: 'hqm-bridge', apiEndpoint: emulator.endpoint });
    try {
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).status === 200, { what: 'ready' });
      // A topic keeps messages only for subscriptions that exist: wait for the worker's.
      const [exists] = await waitFor(async () => {
        const found = await producer.subscription('bridge.openhqm-requests.work').exists();
        return found[0] ? found : undefined;
      }, { what: 'the workers\' subscription' });
      expect(exists).toBe(true);
      const topic = producer.topic('bridge.openhqm-requests');
      // As any Pub/Sub producer would: a JSON object, and raw bytes of a JSON array.
      await topic.publishMessage({ json: { event: 'signup', user: 7 } });
      await topic.publishMessage({ data: Buffer.from(JSON.stringify([1, 2, 3])) });

      await waitFor(() => upstream.received.length === 2, { what: 'both messages forwarded', timeoutMs: 30_000 });
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
      // Forwarded once each: nothing is left in flight, and nothing more arrives.
      await waitFor(async () => {
        const stats = (await getJson(`${server.url}/api/v1/queues`)).body as { queues?: Array<{ in_flight?: number }> };
        return stats.queues?.[0]?.in_flight === 0;
      }, { what: 'nothing in flight' });
      expect(upstream.received).toHaveLength(2);
      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      await producer.close();
      server.kill('SIGKILL');
      await server.exited;
      await upstream.close();
    }
  }, 90_000);
});

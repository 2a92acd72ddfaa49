/**
 * Pub/Sub goes away under load, and a worker that is alive but not consuming: `openhqm start` on
 * an emulator this file starts and kills, reached through a TCP proxy, with the results in SQLite.
 *
 * - The proxy is cut in the middle of 2,000 submissions, then restored (the emulator keeps
 *   everything in memory, so restarting it would lose the queue: a cut connection is what a
 *   process sees of an outage either way): while it is cut, submit answers 503 with Retry-After
 *   (never a 500, never a hang) and /health/ready is 503; afterwards the same process publishes
 *   and consumes again by itself, and every request that got a 202 completes exactly once (one
 *   COMPLETED in its trail).
 * - The request topic is deleted under the running process, which leaves its subscription
 *   detached (Pub/Sub cannot re-attach one): the process is alive but would consume nothing and
 *   publish into the void, so /health/ready says it is not consuming and submits answer 503
 *   instead of losing requests, until the detached subscription is deleted; then it creates its
 *   topology afresh and what is submitted completes.
 */
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, getJson, startCli, type CliProcess } from '../helpers/cli.js';
import { cuttableProxy, type CuttableProxy } from '../helpers/cuttable-proxy.js';
import { requirePubSubEmulator, startPubSubEmulator, type PubSubEmulator } from '../helpers/pubsub.js';
import { SubmissionLoad } from '../helpers/submission-load.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const TOTAL = 2000;
const CONCURRENCY = 16;
const PROJECT = 'hqm-outage';

describe('Pub/Sub outage under load', () => {
  const dir = tempDir('openhqm-pubsub-outage-');
  let emulator: PubSubEmulator | undefined;
  let proxy: CuttableProxy | undefined;

  beforeAll(async () => {
    if (requirePubSubEmulator() !== undefined) return;
    emulator = await startPubSubEmulator();
    proxy = await cuttableProxy('127.0.0.1', emulator.port);
  }, 60_000);

  afterAll(async () => {
    await proxy?.close();
    await emulator?.stop();
  });

  const start = (name: string, endpoint: string): Promise<CliProcess> =>
    startCli(['start'], {
      OPENHQM_QUEUE__TYPE: 'gcp_pubsub',
      OPENHQM_QUEUE__GCP_PROJECT_ID: PROJECT,
      OPENHQM_GCP_PUBSUB__ENDPOINT: endpoint,
      OPENHQM_GCP_PUBSUB__PREFIX: `${name}.`,
      OPENHQM_GCP_PUBSUB__REQUEST_TIMEOUT_MS: '2000',
      OPENHQM_SQLITE__PATH: join(dir, `${name}.db`),
      OPENHQM_WORKER__COUNT: '16',
    }).ready();

  it('answers 503 while Pub/Sub is unreachable, resumes by itself, and completes every accepted request exactly once', async (ctx) => {
    if (emulator === undefined || proxy === undefined) return ctx.skip(requirePubSubEmulator()?.skip ?? 'no emulator');
    const link = proxy;
    const server = await start('outage', `127.0.0.1:${link.port}`);
    const submissions = new SubmissionLoad(server.url, { concurrency: CONCURRENCY, timeoutMs: 15_000 });
    /** Submits until `upTo` were sent. */
    const load = (upTo: number): Promise<void> => submissions.run(() => submissions.sent >= upTo);

    try {
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).status === 200, { what: 'ready' });
      // Before: 800 submissions, the link cut while they are still arriving.
      const firstLoad = load(800);
      await waitFor(() => submissions.accepted.size >= 500, { what: '500 accepted requests', timeoutMs: 90_000 });
      await link.cut();
      await firstLoad;

      // Down: 200 submissions, refused with 503; the process says it is not ready.
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).status === 503, { what: 'not ready' });
      const refusedBefore = submissions.refused(503);
      await load(1000);
      expect(submissions.refused(503) - refusedBefore).toBeGreaterThan(150);
      expect((await getJson(`${server.url}/health/ready`)).status).toBe(503);

      // After: the link back; the same process publishes and consumes again.
      await link.restore();
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).status === 200, { timeoutMs: 30_000, what: 'ready again' });
      await load(TOTAL);

      expect(submissions.sent).toBe(TOTAL);
      submissions.expectOnlyRetryableRefusals();
      expect(submissions.accepted.size).toBeGreaterThan(1500);
      // A delivery held when the link was cut comes back when its ack deadline lapses (30 s).
      await submissions.expectEachCompleted(120_000, { batch: 20, once: true });
      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      await link.restore();
      server.kill('SIGKILL');
      await server.exited;
    }
  }, 400_000);

  it('is not ready while its subscription is detached, though alive, refuses submits rather than lose them, and recovers once it is deleted', async (ctx) => {
    if (emulator === undefined) return ctx.skip(requirePubSubEmulator()?.skip ?? 'no emulator');
    const server = await start('detached', emulator.endpoint);
    const admin = new PubSub({ projectId: PROJECT, apiEndpoint: emulator.endpoint });
    try {
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).status === 200, { what: 'ready' });
      const first = await fetch(`${server.url}/api/v1/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload: { operation: 'echo', data: 'before' } }) });
      expect(first.status).toBe(202);
      const before = ((await first.json()) as { correlation_id: string }).correlation_id;
      expect(await finished(server.url, before, 30_000)).toMatchObject({ status: 'COMPLETED' });

      // Someone deletes the topic: the workers' subscription stays, detached from any topic.
      await admin.topic('detached.openhqm-requests').delete();
      const notConsuming = await waitFor(
        async () => {
          const ready = await getJson(`${server.url}/health/ready`);
          const queue = String((ready.body.components as Record<string, string> | undefined)?.queue ?? '');
          return ready.status === 503 && queue.startsWith('not consuming') ? queue : undefined;
        },
        { timeoutMs: 30_000, what: '/health/ready to say the workers are not consuming' },
      );
      expect(notConsuming).toMatch(/detached/);
      expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
      // A submit now would go to a topic no subscription reads: refused, not lost.
      const refused = await fetch(`${server.url}/api/v1/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload: { operation: 'echo', data: 'lost?' } }) });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).not.toBeNull();

      // The operator deletes the detached subscription: the process creates both afresh by itself.
      await admin.subscription('detached.openhqm-requests.work').delete();
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).status === 200, { timeoutMs: 30_000, what: 'ready again' });
      const after = await waitFor(async () => {
        const res = await fetch(`${server.url}/api/v1/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload: { operation: 'echo', data: 'after' } }) });
        return res.status === 202 ? ((await res.json()) as { correlation_id: string }).correlation_id : undefined;
      }, { what: 'a submit accepted again', timeoutMs: 30_000 });
      expect(await finished(server.url, after, 30_000)).toMatchObject({ status: 'COMPLETED', result: { output: 'after' } });
      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      await admin.close();
      server.kill('SIGKILL');
      await server.exited;
    }
  }, 180_000);
});

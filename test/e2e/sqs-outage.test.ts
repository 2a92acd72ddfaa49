/**
 * SQS goes away under load, and a worker that is alive but cannot receive: `openhqm start` on a
 * moto server this file starts itself, reached through a proxy (test/helpers/sqs-proxy.ts), with
 * the results in SQLite. moto keeps its queues in memory, so restarting it would lose every
 * message, which SQS never does: the outage is the proxy cut and restored, the network path to
 * SQS failing rather than SQS itself.
 *
 * - The proxy cut in the middle of 2,000 submissions, then restored: while SQS cannot be reached,
 *   submit answers 503 with Retry-After (never a 500, never a hang) and /health/ready is 503;
 *   afterwards the same process sends and receives again by itself, and every request that got a
 *   202 completes exactly once in the store (one COMPLETED in its trail).
 * - ReceiveMessage refused with AccessDenied (a role that lost sqs:ReceiveMessage): the process
 *   is alive and still accepts submissions, but /health/ready says it is not receiving, until the
 *   permission is back and the requests accepted meanwhile complete.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, getJson, startCli, type CliProcess } from '../helpers/cli.js';
import { startMoto, type Moto } from '../helpers/sqs.js';
import { sqsProxy, type SqsProxy } from '../helpers/sqs-proxy.js';
import { SubmissionLoad } from '../helpers/submission-load.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const TOTAL = 2000;
const CONCURRENCY = 16;

describe('SQS outage under load', () => {
  const dir = tempDir('openhqm-sqs-outage-');
  let moto: Moto | { skip: string } = { skip: 'moto not started' };
  let proxy: SqsProxy | undefined;

  beforeAll(async () => {
    moto = await startMoto();
    if (!('skip' in moto)) proxy = await sqsProxy(moto.port);
  }, 60_000);

  afterAll(async () => {
    await proxy?.close();
    if (!('skip' in moto)) await moto.stop();
  }, 60_000);

  const start = (name: string): Promise<CliProcess> =>
    startCli(['start'], {
      OPENHQM_QUEUE__TYPE: 'sqs',
      OPENHQM_QUEUE__SQS_ENDPOINT_URL: proxy?.url ?? '',
      OPENHQM_QUEUE__REQUEST_QUEUE_NAME: `openhqm-${name}`,
      OPENHQM_SQLITE__PATH: join(dir, `${name}.db`),
      OPENHQM_WORKER__COUNT: '16',
      // Deliveries whose acknowledgement the cut lost come back this soon, not after 30 s.
      OPENHQM_QUEUE__VISIBILITY_TIMEOUT_SECONDS: '10',
    }).ready();

  it('answers 503 while SQS cannot be reached, resumes by itself, and completes every accepted request exactly once', async (ctx) => {
    if ('skip' in moto || proxy === undefined) return ctx.skip('skip' in moto ? moto.skip : 'no proxy');
    const path = proxy;
    const server = await start('outage');
    const submissions = new SubmissionLoad(server.url, { concurrency: CONCURRENCY, timeoutMs: 15_000 });
    /** Submits until `upTo` were sent. */
    const load = (upTo: number): Promise<void> => submissions.run(() => submissions.sent >= upTo);

    try {
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).status === 200, { what: 'ready', timeoutMs: 30_000 });
      // Before: 800 submissions, the path to SQS cut while they are still arriving.
      const firstLoad = load(800);
      await waitFor(() => submissions.accepted.size >= 500, { what: '500 accepted requests', timeoutMs: 120_000 });
      await path.cut();
      await firstLoad;

      // Down: 200 submissions, refused with 503; the process says it is not ready.
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).status === 503, { what: 'not ready', timeoutMs: 30_000 });
      const refusedBefore = submissions.refused(503);
      await load(1000);
      expect(submissions.refused(503) - refusedBefore).toBeGreaterThan(150);
      expect((await getJson(`${server.url}/health/ready`)).status).toBe(503);

      // After: the path back; the same process sends and receives again.
      await path.restore();
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).status === 200, { timeoutMs: 60_000, what: 'ready again' });
      await load(TOTAL);

      expect(submissions.sent).toBe(TOTAL);
      submissions.expectOnlyRetryableRefusals();
      // At least the 500 before the cut and all 1,000 after the restore (the cut is instant: every
      // submission after it is refused, so exactly 1,500 is the usual count).
      expect(submissions.accepted.size).toBeGreaterThanOrEqual(1500);
      await submissions.expectEachCompleted(120_000, { batch: 20, once: true });
      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      await path.restore();
      server.kill('SIGKILL');
      await server.exited;
    }
  }, 600_000);

  it('is not ready while its workers cannot receive, though alive and accepting, and receives again once allowed', async (ctx) => {
    if ('skip' in moto || proxy === undefined) return ctx.skip('skip' in moto ? moto.skip : 'no proxy');
    const path = proxy;
    const server = await start('not-receiving');
    try {
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).status === 200, { what: 'ready', timeoutMs: 30_000 });
      path.deny('ReceiveMessage');
      // The polls waiting now end within sqs_wait_seconds (20 s); the next ones are refused.
      const notReceiving = await waitFor(
        async () => {
          const ready = await getJson(`${server.url}/health/ready`);
          const queue = String((ready.body.components as Record<string, string>).queue);
          return ready.status === 503 && queue.startsWith('not receiving') && queue.includes('AccessDenied') ? ready : undefined;
        },
        { timeoutMs: 60_000, what: '/health/ready to say the workers are refused' },
      );
      expect((notReceiving.body.components as Record<string, string>).queue).toMatch(/^not receiving from openhqm-not-receiving: .*AccessDenied/);
      expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
      // Still accepting (sending is allowed): these wait in the queue.
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        const res = await fetch(`${server.url}/api/v1/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload: { operation: 'echo', data: i } }) });
        expect(res.status).toBe(202);
        ids.push(((await res.json()) as { correlation_id: string }).correlation_id);
      }
      expect((await getJson(`${server.url}/health/ready`)).status).toBe(503);

      path.deny(undefined);
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).status === 200, { timeoutMs: 30_000, what: 'ready again' });
      for (const [i, id] of ids.entries()) expect(await finished(server.url, id, 60_000)).toMatchObject({ status: 'COMPLETED', result: { output: i } });
      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      path.deny(undefined);
      server.kill('SIGKILL');
      await server.exited;
    }
  }, 240_000);
});

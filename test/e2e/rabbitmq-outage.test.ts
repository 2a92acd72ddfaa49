/**
 * RabbitMQ goes away under load, and a worker that is alive but cannot consume: `openhqm start`
 * on a RabbitMQ node this file starts itself (the machine's broker is shared and is never
 * stopped), with the results in SQLite.
 *
 * - `rabbitmqctl stop_app` in the middle of 2,000 submissions, then `start_app`: while the broker
 *   is away, submit answers 503 with Retry-After (never a 500, never a hang) and /health/ready is
 *   503; afterwards the same process publishes and consumes again by itself, and every request
 *   that got a 202 completes exactly once in the store (one COMPLETED in its trail).
 * - The broker refuses the workers' consumers (guest loses its read permission on the request
 *   queue, and its connections are closed so they must subscribe again): the process is alive and still
 *   accepts submissions, but /health/ready says it is not consuming, until the permission is
 *   back and the requests accepted meanwhile complete.
 *
 * Needs root and Debian's rabbitmq-server (the CI machine has both); skipped with a message
 * naming RabbitMQ otherwise.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, getJson, startCli, type CliProcess } from '../helpers/cli.js';
import { startPrivateRabbit, type PrivateRabbit } from '../helpers/rabbitmq.js';
import { SubmissionLoad } from '../helpers/submission-load.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const TOTAL = 2000;
const CONCURRENCY = 16;

describe('RabbitMQ outage under load', () => {
  const dir = tempDir('openhqm-rabbit-outage-');
  let rabbit: PrivateRabbit | undefined;
  let skip: string | undefined;

  beforeAll(async () => {
    const started = await startPrivateRabbit();
    if ('skip' in started) skip = started.skip;
    else rabbit = started;
  }, 120_000);

  afterAll(async () => {
    await rabbit?.destroy();
  }, 60_000);

  const start = (name: string): Promise<CliProcess> =>
    startCli(['start'], {
      OPENHQM_QUEUE__TYPE: 'rabbitmq',
      OPENHQM_QUEUE__RABBITMQ_URL: rabbit?.url ?? '',
      OPENHQM_RABBITMQ__CONNECT_TIMEOUT_MS: '2000',
      OPENHQM_SQLITE__PATH: join(dir, `${name}.db`),
      OPENHQM_WORKER__COUNT: '16',
    }).ready();

  it('answers 503 while RabbitMQ is down, resumes by itself, and completes every accepted request exactly once', async (ctx) => {
    if (rabbit === undefined) return ctx.skip(skip ?? 'no private RabbitMQ');
    const broker = rabbit;
    const server = await start('outage');
    const submissions = new SubmissionLoad(server.url, { concurrency: CONCURRENCY });
    /** Submits until `upTo` were sent. */
    const load = (upTo: number): Promise<void> => submissions.run(() => submissions.sent >= upTo);

    try {
      // Before: 800 submissions, the broker stopped while they are still arriving.
      const firstLoad = load(800);
      await waitFor(() => submissions.accepted.size >= 500, { what: '500 accepted requests', timeoutMs: 60_000 });
      broker.stopApp();
      await firstLoad;

      // Down: 200 submissions, refused quickly with 503; the process says it is not ready.
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).status === 503, { what: 'not ready' });
      const refusedBefore = submissions.refused(503);
      await load(1000);
      expect(submissions.refused(503) - refusedBefore).toBeGreaterThan(150);
      expect((await getJson(`${server.url}/health/ready`)).status).toBe(503);

      // After: the broker back; the same process publishes and consumes again.
      broker.startApp();
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).status === 200, { timeoutMs: 30_000, what: 'ready again' });
      await load(TOTAL);

      expect(submissions.sent).toBe(TOTAL);
      submissions.expectOnlyRetryableRefusals();
      expect(submissions.accepted.size).toBeGreaterThan(1500);
      await submissions.expectEachCompleted(60_000, { batch: 20, once: true });
      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      server.kill('SIGKILL');
      await server.exited;
    }
  }, 300_000);

  it('is not ready while its workers cannot consume, though alive and accepting, and consumes again once allowed', async (ctx) => {
    if (rabbit === undefined) return ctx.skip(skip ?? 'no private RabbitMQ');
    const broker = rabbit;
    const server = await start('not-consuming');
    try {
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).status === 200, { what: 'ready' });
      // guest may no longer read the request queue (publishing to it still works, consuming does
      // not). Its connections are closed, so the workers must subscribe again, and cannot.
      expect(broker.rabbitmqctl(['set_permissions', '-p', '/', 'guest', '.*', '.*', '^(?!openhqm-requests$).*']).ok).toBe(true);
      expect(broker.rabbitmqctl(['close_all_connections', 'test: consumers must subscribe again']).ok).toBe(true);
      const notConsuming = await waitFor(
        async () => {
          const ready = await getJson(`${server.url}/health/ready`);
          // Connected again, and refused: not the moment of the reconnect itself.
          const queue = String((ready.body.components as Record<string, string>).queue);
          return ready.status === 503 && queue.startsWith('not consuming') && queue.includes('ACCESS_REFUSED') ? ready : undefined;
        },
        { timeoutMs: 30_000, what: '/health/ready to say the workers are refused' },
      );
      expect((notConsuming.body.components as Record<string, string>).queue).toMatch(/^not consuming openhqm-requests: .*ACCESS_REFUSED/);
      expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
      // Still accepting (publishing is allowed): these wait in the queue.
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        const res = await fetch(`${server.url}/api/v1/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload: { operation: 'echo', data: i } }) });
        expect(res.status).toBe(202);
        ids.push(((await res.json()) as { correlation_id: string }).correlation_id);
      }
      expect((await getJson(`${server.url}/health/ready`)).status).toBe(503);

      expect(broker.rabbitmqctl(['set_permissions', '-p', '/', 'guest', '.*', '.*', '.*']).ok).toBe(true);
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).status === 200, { timeoutMs: 30_000, what: 'ready again' });
      for (const [i, id] of ids.entries()) expect(await finished(server.url, id, 30_000)).toMatchObject({ status: 'COMPLETED', result: { output: i } });
      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      broker.rabbitmqctl(['set_permissions', '-p', '/', 'guest', '.*', '.*', '.*']);
      server.kill('SIGKILL');
      await server.exited;
    }
  }, 180_000);
});

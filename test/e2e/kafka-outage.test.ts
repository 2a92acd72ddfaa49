/**
 * Kafka goes away under load: `openhqm start` on a mock Kafka cluster of the test's own
 * (librdkafka's, in a `kcat` process), which is frozen (SIGSTOP: every broker stops answering,
 * connections hang) in the middle of a stream of submissions and then continued. The mock keeps
 * its log in memory, so a frozen process is the outage that loses nothing, as a real broker's
 * restart would not. While it is down, submit answers 503 with Retry-After (never a 500, never
 * a hang) and /health/ready is 503; afterwards the same process resumes by itself, and every
 * request that got a 202 — before, during or after — completes with its own result.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getJson, startCli } from '../helpers/cli.js';
import { requireKcat, startMockKafka } from '../helpers/kafka.js';
import { SubmissionLoad } from '../helpers/submission-load.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const CONCURRENCY = 16;

describe('Kafka outage under load', () => {
  it('answers 503 while Kafka is down, resumes by itself, and completes every accepted request', async (ctx) => {
    const missing = requireKcat();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const mock = await startMockKafka();
    const env = {
      OPENHQM_QUEUE__TYPE: 'kafka',
      OPENHQM_QUEUE__KAFKA_BOOTSTRAP_SERVERS: mock.brokers,
      OPENHQM_KAFKA__REQUEST_TIMEOUT_MS: '1000',
      OPENHQM_KAFKA__CONNECTION_TIMEOUT_MS: '1000',
      OPENHQM_KAFKA__SESSION_TIMEOUT_MS: '6000',
      OPENHQM_KAFKA__HEARTBEAT_INTERVAL_MS: '500',
      OPENHQM_KAFKA__FETCH_MAX_WAIT_MS: '50',
      OPENHQM_SQLITE__PATH: join(tempDir('openhqm-kafka-outage-'), 'store.db'),
      OPENHQM_CACHE__TYPE: 'sqlite',
      OPENHQM_WORKER__COUNT: '16',
    };
    const server = startCli(['start'], env);
    let phase: 'before' | 'down' | 'after' = 'before';

    try {
      await server.ready();
      const submissions = new SubmissionLoad(server.url, { concurrency: CONCURRENCY });
      // Before: load until some are accepted, then freeze Kafka with submissions in flight.
      const firstLoad = submissions.run(() => phase !== 'before');
      await waitFor(() => submissions.accepted.size >= 900, { timeoutMs: 120_000, what: '900 accepted requests' });
      mock.pause();
      phase = 'down';
      await firstLoad;

      // Down: submissions are refused with 503, and the process says it is not ready.
      const downFrom = submissions.sent;
      await submissions.run(() => submissions.sent - downFrom >= 100);
      expect(submissions.refused(503)).toBeGreaterThan(50);
      expect((await getJson(`${server.url}/health/ready`)).status).toBe(503);

      // After: Kafka back; the same process picks up where it was.
      mock.resume();
      let lastReady: unknown;
      await waitFor(
        async () => {
          const ready = await getJson(`${server.url}/health/ready`);
          lastReady = ready.body;
          return ready.status === 200;
        },
        { timeoutMs: 60_000, intervalMs: 250, what: 'ready again' },
      ).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}: ${JSON.stringify(lastReady)}\n${server.output.filter((l) => /warn|error/i.test(l)).slice(-30).join('\n')}`);
      });
      phase = 'after';
      const afterFrom = submissions.accepted.size;
      await submissions.run(() => submissions.accepted.size - afterFrom >= 1000);

      submissions.expectOnlyRetryableRefusals();
      expect(submissions.accepted.size).toBeGreaterThanOrEqual(1900);
      await submissions.expectEachCompleted(120_000);
      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      server.kill('SIGKILL');
      await server.exited;
      await mock.stop();
    }
  }, 400_000);
});

/**
 * PostgreSQL goes away under load: `openhqm start` on a PostgreSQL server of the test's own (the
 * machine's is shared by the other PostgreSQL suites, which run meanwhile), which is stopped
 * (`pg_ctl stop -m fast`: every connection is cut, transactions in flight roll back) in the
 * middle of a stream of submissions and started again. While it is
 * down, submit answers 503 with Retry-After (never a 500, never a hang) and /health/ready is
 * 503; afterwards the same process resumes by itself, and every request that got a 202 —
 * before, during or after — completes with its own result.
 *
 * Needs root and Debian's PostgreSQL server binaries (the CI machine has both); skipped with a
 * message naming PostgreSQL otherwise.
 */
import { describe, expect, it } from 'vitest';
import { getJson, startCli } from '../helpers/cli.js';
import { startPrivatePostgres } from '../helpers/postgres.js';
import { SubmissionLoad } from '../helpers/submission-load.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const CONCURRENCY = 16;

describe('PostgreSQL outage under load', () => {
  it('answers 503 while PostgreSQL is down, resumes by itself, and completes every accepted request', async (ctx) => {
    const postgres = await startPrivatePostgres(tempDir('openhqm-pg-outage-'));
    if ('skip' in postgres) return ctx.skip(postgres.skip);
    const env = {
      OPENHQM_QUEUE__TYPE: 'postgres',
      OPENHQM_CACHE__TYPE: 'postgres',
      OPENHQM_QUEUE__POSTGRES_URL: postgres.url,
      OPENHQM_CACHE__POSTGRES_URL: postgres.url,
      OPENHQM_POSTGRES__CONNECT_TIMEOUT_MS: '1000',
      OPENHQM_POSTGRES__STATEMENT_TIMEOUT_MS: '1000',
      OPENHQM_WORKER__COUNT: '16',
      // Short, so what the workers held when PostgreSQL went away comes back quickly.
      OPENHQM_QUEUE__VISIBILITY_TIMEOUT_SECONDS: '2',
    };
    const server = await startCli(['start'], env).ready();
    const submissions = new SubmissionLoad(server.url, { concurrency: CONCURRENCY });
    let phase: 'before' | 'down' | 'after' = 'before';

    try {
      // Before: load until some are accepted, then stop PostgreSQL with submissions in flight.
      const firstLoad = submissions.run(() => phase !== 'before');
      await waitFor(() => submissions.accepted.size >= 300, { what: '300 accepted requests' });
      postgres.stop();
      phase = 'down';
      await firstLoad;

      // Down: submissions are refused quickly with 503, and the process says it is not ready.
      const downFrom = submissions.sent;
      await submissions.run(() => submissions.sent - downFrom >= 200);
      expect(submissions.refused(503)).toBeGreaterThan(100);
      expect((await getJson(`${server.url}/health/ready`)).status).toBe(503);

      // After: PostgreSQL back; the same process picks up where it was.
      postgres.start();
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).status === 200, { timeoutMs: 20_000, what: 'ready again' });
      phase = 'after';
      const afterFrom = submissions.accepted.size;
      await submissions.run(() => submissions.accepted.size - afterFrom >= 300);

      submissions.expectOnlyRetryableRefusals();
      await submissions.expectEachCompleted(60_000);
      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      server.kill('SIGKILL');
      await server.exited;
      postgres.destroy();
    }
  }, 180_000);
});

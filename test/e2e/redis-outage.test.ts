/**
 * Redis goes away under load: `openhqm start` on a Redis this test starts itself (append-only
 * file, fsync always), which is killed (SIGKILL) in the middle of a stream of submissions and
 * started again on the same directory. While it is down, submit answers 503 with Retry-After
 * (never a 500, never a hang) and /health/ready is 503; afterwards the same process resumes,
 * and every request that got a 202 — before, during or after — completes with its own result.
 *
 * Why SIGKILL is fair: with `appendfsync always` Redis fsyncs the append-only file before it
 * replies, so every write it acknowledged is on disk when it dies, however it dies.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getJson, startCli } from '../helpers/cli.js';
import { requireRedisServer, startRedisServer } from '../helpers/redis.js';
import { SubmissionLoad } from '../helpers/submission-load.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const CONCURRENCY = 16;

describe('Redis outage under load', () => {
  const dir = tempDir();

  it('answers 503 while Redis is down, resumes by itself, and completes every accepted request', async (ctx) => {
    const missing = await requireRedisServer();
    if (missing !== undefined) return ctx.skip(missing.skip);
    let redis = await startRedisServer({ dir: join(dir, 'redis') });
    const env = {
      OPENHQM_QUEUE__TYPE: 'redis',
      OPENHQM_CACHE__TYPE: 'redis',
      OPENHQM_QUEUE__REDIS_URL: redis.url,
      OPENHQM_CACHE__REDIS_URL: redis.url,
      OPENHQM_WORKER__COUNT: '16',
      // Short, so what the workers held when Redis died comes back quickly.
      OPENHQM_QUEUE__VISIBILITY_TIMEOUT_SECONDS: '2',
      OPENHQM_REDIS__COMMAND_TIMEOUT_MS: '1000',
    };
    const server = await startCli(['start'], env).ready();
    const submissions = new SubmissionLoad(server.url, { concurrency: CONCURRENCY });
    let phase: 'before' | 'down' | 'after' = 'before';

    try {
      // Before: load until some are accepted, then kill Redis with submissions in flight.
      const firstLoad = submissions.run(() => phase !== 'before');
      await waitFor(() => submissions.accepted.size >= 300, { what: '300 accepted requests' });
      await redis.stop('SIGKILL');
      phase = 'down';
      await firstLoad;

      // Down: submissions are refused quickly with 503, and the process says it is not ready.
      const downFrom = submissions.sent;
      await submissions.run(() => submissions.sent - downFrom >= 200);
      expect(submissions.refused(503)).toBeGreaterThan(100);
      expect((await getJson(`${server.url}/health/ready`)).status).toBe(503);

      // After: Redis back on the same files; the same process picks up where it was.
      redis = await startRedisServer({ dir: join(dir, 'redis'), port: redis.port });
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
      await redis.stop('SIGKILL');
    }
  }, 180_000);
});

/**
 * Nothing lost: SIGKILL `openhqm start` in the middle of 2,000 submissions, restart it on
 * the same SQLite file, and every request that got a 202 reaches COMPLETED exactly once
 * with its own result.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finished, getJson, startCli, type CliProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const TOTAL = 2000;
const CONCURRENCY = 32;

describe('crash safety (SIGKILL)', () => {
  const dir = tempDir();
  const env = {
    OPENHQM_SQLITE__PATH: join(dir, 'crash.db'),
    OPENHQM_WORKER__COUNT: '16',
    // Short, so the messages the killed process held come back quickly after the restart.
    OPENHQM_QUEUE__VISIBILITY_TIMEOUT_SECONDS: '2',
  };

  it('completes every accepted request once, with its own result, across a kill -9', async () => {
    let server: CliProcess = await startCli(['start'], env).ready();
    const accepted = new Map<string, string>(); // correlation id → the token it must echo
    let next = 0;
    let killed = false;

    const submitOne = async (url: string): Promise<void> => {
      const token = `token-${next}`;
      next += 1;
      let res: Response;
      try {
        res = await fetch(`${url}/api/v1/submit`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ payload: { operation: 'echo', data: token } }),
        });
      } catch {
        return; // The connection died with the server: no 202, so no promise was made.
      }
      if (res.status === 202) accepted.set(((await res.json()) as { correlation_id: string }).correlation_id, token);
      else await res.body?.cancel();
    };

    const run = async (url: string, until: () => boolean): Promise<void> => {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (!until()) await submitOne(url);
        }),
      );
    };

    // Phase 1: submit until about a third is accepted, then kill -9 with submissions in flight.
    const firstUrl = server.url;
    const phase1 = run(firstUrl, () => killed || next >= TOTAL);
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (accepted.size >= TOTAL / 3) {
          clearInterval(timer);
          server.kill('SIGKILL');
          killed = true;
          resolve();
        }
      }, 5);
    });
    await phase1;
    expect((await server.exited).signal).toBe('SIGKILL');
    const acceptedBeforeKill = accepted.size;

    // Phase 2: restart on the same file and submit the rest.
    server = await startCli(['start'], env).ready();
    await run(server.url, () => next >= TOTAL);
    expect(accepted.size).toBeGreaterThan(acceptedBeforeKill);

    for (const [id, token] of accepted) {
      const result = await finished(server.url, id);
      expect(result, id).toMatchObject({ status: 'COMPLETED', result: { output: token } });
    }
    // Exactly once: one COMPLETED event per request, however many deliveries it took.
    const sample = [...accepted.keys()].slice(0, acceptedBeforeKill);
    for (const id of sample) {
      const trail = await getJson(`${server.url}/api/v1/requests/${id}/events`);
      const completions = (trail.body.events as Array<{ to: string }>).filter((e) => e.to === 'COMPLETED');
      expect(completions, id).toHaveLength(1);
    }
    server.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  }, 180_000);
});

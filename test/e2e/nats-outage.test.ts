/**
 * NATS goes away under load: `openhqm start` (SQLite store) on a nats-server of the test's own
 * (the machine's is shared by other suites), which is restarted in the middle of 2,000
 * submissions. While it is down, submit answers 503 with Retry-After (never a 500, never a
 * hang) and /health/ready is 503; afterwards the same process resumes by itself, and every
 * request that got a 202 — before, during or after — completes, having run exactly once
 * (counted by a processor module that logs every run).
 *
 * Then "alive but not consuming": the server comes back *without JetStream* — the connection is
 * up, the process alive, but nothing can be consumed. The health probe must say so (503), and
 * once JetStream is back, requests accepted then complete without a restart of OpenHQM.
 *
 * The server is stopped with SIGTERM, which flushes its file store: a single nats-server 2.9
 * fsyncs its streams only every two minutes, so SIGKILL of a lone server can lose acknowledged
 * messages (production runs R3 on a cluster; see the cluster test).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { finished, getJson, startCli } from '../helpers/cli.js';
import { startPrivateNats } from '../helpers/nats.js';
import { SubmissionLoad } from '../helpers/submission-load.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const MODULE = fileURLToPath(new URL('../fixtures/run-log.mjs', import.meta.url));
const CONCURRENCY = 16;
const TOTAL = 2_000;

describe('NATS outage under load', () => {
  it('answers 503 while NATS is down or without JetStream, resumes by itself, and runs every accepted request exactly once', async (ctx) => {
    const dir = tempDir('openhqm-nats-outage-');
    const nats = await startPrivateNats(join(dir, 'nats'));
    if ('skip' in nats) return ctx.skip(nats.skip);
    const log = join(dir, 'runs.jsonl');
    const env = {
      OPENHQM_QUEUE__TYPE: 'nats',
      OPENHQM_QUEUE__NATS_URL: nats.url,
      OPENHQM_NATS__REQUEST_TIMEOUT_MS: '1000',
      OPENHQM_SQLITE__PATH: join(dir, 'store.db'),
      OPENHQM_WORKER__COUNT: '16',
      OPENHQM_WORKER__PROCESSOR_MODULE: MODULE,
      // Short, so what the workers held when NATS went away comes back quickly.
      OPENHQM_QUEUE__VISIBILITY_TIMEOUT_SECONDS: '2',
    };
    const server = await startCli(['start'], env).ready();
    const submissions = new SubmissionLoad(server.url, { concurrency: CONCURRENCY, payload: () => ({ log }) });
    const accepted = submissions.accepted;
    let phase: 'before' | 'down' | 'after' = 'before';
    const ready = async (): Promise<number> => (await getJson(`${server.url}/health/ready`)).status;

    try {
      // Before: load until some are accepted, then stop NATS with submissions in flight.
      const firstLoad = submissions.run(() => phase !== 'before');
      await waitFor(() => accepted.size >= 700, { what: '700 accepted requests', timeoutMs: 60_000 });
      await nats.stop();
      phase = 'down';
      await firstLoad;

      // Down: submissions are refused quickly with 503, and the process says it is not ready.
      const downFrom = submissions.sent;
      await submissions.run(() => submissions.sent - downFrom >= 300);
      expect(submissions.refused(503)).toBeGreaterThan(200);
      expect(await ready()).toBe(503);

      // After: NATS back; the same process picks up where it was, without being restarted.
      await nats.start();
      await waitFor(async () => (await ready()) === 200, { timeoutMs: 30_000, what: 'ready again' });
      phase = 'after';
      await submissions.run(() => submissions.sent >= TOTAL);

      submissions.expectOnlyRetryableRefusals();
      for (const id of accepted.keys()) expect(await finished(server.url, id, 60_000), id).toMatchObject({ status: 'COMPLETED' });
      const runs = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { id: string }).id);
      const byId = new Map<string, number>();
      for (const id of runs) byId.set(id, (byId.get(id) ?? 0) + 1);
      // Every accepted request ran once; a refused one (its record withdrawn) never ran.
      expect([...accepted.keys()].filter((id) => byId.get(id) !== 1)).toEqual([]);
      expect(runs.filter((id) => !accepted.has(id))).toEqual([]);

      // Alive but not consuming: the server is back without JetStream. The probe must not say ready.
      await nats.stop();
      await nats.start({ jetstream: false });
      await waitFor(async () => (await getJson(`${server.url}/health/ready`)).body.components !== undefined && (await ready()) === 503, { what: 'not ready without JetStream' });
      const refused = await fetch(`${server.url}/api/v1/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload: { log } }) });
      expect(refused.status).toBe(503);
      await refused.body?.cancel();
      await nats.stop();
      await nats.start();
      await waitFor(async () => (await ready()) === 200, { timeoutMs: 30_000, what: 'ready with JetStream back' });
      const later: string[] = [];
      for (let i = 0; i < 20; i += 1) {
        const res = await fetch(`${server.url}/api/v1/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload: { log } }) });
        expect(res.status).toBe(202);
        later.push(((await res.json()) as { correlation_id: string }).correlation_id);
      }
      for (const id of later) expect(await finished(server.url, id, 30_000), id).toMatchObject({ status: 'COMPLETED' });

      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      server.kill('SIGKILL');
      await server.exited;
      await nats.destroy();
    }
  }, 300_000);
});

/**
 * A three-node JetStream cluster the test starts on loopback ports: `openhqm start` with R3
 * streams (`nats.replicas: 3`) and the three servers in `queue.nats_url`; the queue stream's
 * leader is killed (SIGKILL) in the middle of 2,000 submissions. The stream elects a new leader
 * among the other two; every request that got a 202 completes, and none ran twice (counted by a
 * processor module that logs every run). A submission refused meanwhile is a 503 with
 * Retry-After, never a 500 or a hang.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { finished, startCli } from '../helpers/cli.js';
import { startNatsCluster } from '../helpers/nats.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const MODULE = fileURLToPath(new URL('../fixtures/run-log.mjs', import.meta.url));
const CONCURRENCY = 16;
const TOTAL = 2_000;
const STREAM = 'OPENHQM_openhqm-requests';

describe('NATS cluster: the stream leader dies under load', () => {
  it('fails over to a new leader: every accepted request completes, none runs twice', async (ctx) => {
    const dir = tempDir('openhqm-nats-cluster-');
    const cluster = await startNatsCluster(join(dir, 'cluster'));
    if ('skip' in cluster) return ctx.skip(cluster.skip);
    const admin = await connect({ servers: cluster.url.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const log = join(dir, 'runs.jsonl');
    let server: ReturnType<typeof startCli> | undefined;
    try {
      const jsm = await jetstreamManager(admin, { timeout: 2_000, checkAPI: false });
      // The cluster is ready once it has a meta leader to answer JetStream requests.
      await waitFor(async () => (await jsm.getAccountInfo().catch(() => undefined)) !== undefined, { what: 'a JetStream meta leader', timeoutMs: 30_000 });
      server = await startCli(['start'], {
        OPENHQM_QUEUE__TYPE: 'nats',
        OPENHQM_QUEUE__NATS_URL: cluster.url,
        OPENHQM_NATS__REPLICAS: '3',
        OPENHQM_NATS__REQUEST_TIMEOUT_MS: '2000',
        OPENHQM_SQLITE__PATH: join(dir, 'store.db'),
        OPENHQM_WORKER__COUNT: '16',
        OPENHQM_WORKER__PROCESSOR_MODULE: MODULE,
        OPENHQM_QUEUE__VISIBILITY_TIMEOUT_SECONDS: '2',
      }).ready();
      const url = server.url;
      const stream = await waitFor(async () => (await jsm.streams.info(STREAM).catch(() => undefined))?.config, { what: 'the R3 queue stream' });
      expect(stream.num_replicas).toBe(3);

      const accepted = new Set<string>();
      const refusals = new Map<number, number>();
      let next = 0;
      let hung = 0;
      let withoutRetryAfter = 0;
      const submitOne = async (): Promise<void> => {
        next += 1;
        let res: Response;
        try {
          res = await fetch(`${url}/api/v1/submit`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ payload: { log } }),
            signal: AbortSignal.timeout(15_000),
          });
        } catch {
          hung += 1;
          return;
        }
        if (res.status === 202) {
          accepted.add(((await res.json()) as { correlation_id: string }).correlation_id);
          return;
        }
        refusals.set(res.status, (refusals.get(res.status) ?? 0) + 1);
        if (res.status === 503 && res.headers.get('retry-after') === null) withoutRetryAfter += 1;
        await res.body?.cancel();
      };
      const load = Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < TOTAL) await submitOne();
        }),
      );

      await waitFor(() => next >= TOTAL / 3, { what: 'a third of the submissions', timeoutMs: 60_000 });
      const leader = (await jsm.streams.info(STREAM)).cluster?.leader;
      const victim = cluster.nodes.find((_, i) => `n${i + 1}` === leader);
      expect(victim, `the stream leader ${leader}`).toBeDefined();
      await victim?.stop('SIGKILL');
      await load;

      // Another node leads the stream now.
      const after = await waitFor(async () => (await jsm.streams.info(STREAM).catch(() => undefined))?.cluster?.leader, { what: 'a new stream leader' });
      expect(after).not.toBe(leader);
      expect([...refusals.keys()].filter((status) => status !== 503)).toEqual([]);
      expect(withoutRetryAfter).toBe(0);
      expect(hung).toBe(0);
      expect(accepted.size).toBeGreaterThan(TOTAL / 2);
      for (const id of accepted) expect(await finished(url, id, 60_000), id).toMatchObject({ status: 'COMPLETED' });
      const runs = new Map<string, number>();
      for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
        const { id } = JSON.parse(line) as { id: string };
        runs.set(id, (runs.get(id) ?? 0) + 1);
      }
      expect([...accepted].filter((id) => runs.get(id) !== 1)).toEqual([]);
      expect([...runs.keys()].filter((id) => !accepted.has(id))).toEqual([]);
      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      server?.kill('SIGKILL');
      await server?.exited;
      await admin.close();
      await Promise.all(cluster.nodes.map((node) => node.destroy()));
    }
  }, 300_000);
});

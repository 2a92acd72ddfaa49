/**
 * Kafka with two worker processes in one consumer group: one `openhqm api` and two `openhqm
 * worker`s share a mock Kafka cluster (librdkafka's, in a `kcat` process this test starts) and
 * the machine's Redis as the result store. One worker is killed (SIGKILL) in the middle of 2,000
 * requests: its group session ends, the survivor takes its partitions over and reads them from
 * the committed offsets (the lowest unfinished one per partition), and every accepted request
 * completes with its own result, exactly once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { finished, getJson, startCli, submit, type CliProcess } from '../helpers/cli.js';
import { requireKcat, startMockKafka } from '../helpers/kafka.js';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const TOTAL = 2000;
const CONCURRENCY = 32;

describe('Kafka: one API, two workers in one group', () => {
  const prefix = testPrefix();
  afterAll(() => deleteKeys(prefix, { url: REDIS_URL }).catch(() => undefined));

  it('completes every accepted request exactly once when a worker is killed mid-way', async (ctx) => {
    const noKcat = requireKcat();
    if (noKcat !== undefined) return ctx.skip(noKcat.skip);
    const noRedis = await requireRedis();
    if (noRedis !== undefined) return ctx.skip(noRedis.skip);
    const mock = await startMockKafka();
    const env = {
      OPENHQM_QUEUE__TYPE: 'kafka',
      OPENHQM_QUEUE__KAFKA_BOOTSTRAP_SERVERS: mock.brokers,
      OPENHQM_QUEUE__KAFKA_CONSUMER_GROUP: prefix,
      OPENHQM_KAFKA__SESSION_TIMEOUT_MS: '6000',
      OPENHQM_KAFKA__HEARTBEAT_INTERVAL_MS: '500',
      OPENHQM_KAFKA__FETCH_MAX_WAIT_MS: '50',
      OPENHQM_CACHE__TYPE: 'redis',
      OPENHQM_CACHE__REDIS_URL: REDIS_URL,
      OPENHQM_REDIS__KEY_PREFIX: prefix,
      OPENHQM_WORKER__COUNT: '16',
      OPENHQM_QUEUE__VISIBILITY_TIMEOUT_SECONDS: '5',
    };
    const processes: CliProcess[] = [];
    try {
      const api = await startCli(['api'], env).ready();
      processes.push(api);
      const doomed = await startCli(['worker'], { ...env, OPENHQM_WORKER__ID: 'doomed' }).ready();
      processes.push(doomed);
      const survivor = await startCli(['worker'], { ...env, OPENHQM_WORKER__ID: 'survivor' }).ready();
      processes.push(survivor);

      // Both workers in the group and working before the load: the group's first join takes a
      // few seconds (the brokers wait for more members), and a rebalance follows the second.
      const completedBy = async (id: string): Promise<string | undefined> => {
        const trail = (await getJson(`${api.url}/api/v1/requests/${id}/events`)).body.events as Array<{ to: string; worker_id: string | null }>;
        return trail.find((e) => e.to === 'COMPLETED')?.worker_id ?? undefined;
      };
      const warmedBy = new Set<string>();
      await waitFor(
        async () => {
          const ids = await Promise.all(Array.from({ length: 16 }, async () => (await submit(api.url, { operation: 'echo', data: 'warm-up' })).body.correlation_id as string));
          for (const id of ids) {
            await finished(api.url, id, 60_000);
            warmedBy.add((await completedBy(id)) ?? '?');
          }
          return warmedBy.has('doomed') && warmedBy.has('survivor');
        },
        { timeoutMs: 120_000, intervalMs: 500, what: 'both workers to complete warm-up requests' },
      );

      const accepted = new Map<string, string>();
      let next = 0;
      const refused: number[] = [];
      const load = Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < TOTAL) {
            const token = `token-${next}`;
            next += 1;
            const res = await submit(api.url, { operation: 'echo', data: token });
            if (res.status === 202) accepted.set(res.body.correlation_id as string, token);
            else refused.push(res.status);
          }
        }),
      );
      await waitFor(() => accepted.size >= TOTAL / 3, { timeoutMs: 120_000, what: 'a third of the requests accepted' });
      doomed.kill('SIGKILL');
      await load;
      expect((await doomed.exited).signal).toBe('SIGKILL');
      expect(refused).toEqual([]);
      expect(accepted.size).toBe(TOTAL);

      const byWorker = new Map<string, number>();
      for (const [id, token] of accepted) {
        const result = await finished(api.url, id, 120_000);
        expect(result, id).toMatchObject({ status: 'COMPLETED', result: { output: token } });
      }
      for (const id of accepted.keys()) {
        const trail = (await getJson(`${api.url}/api/v1/requests/${id}/events`)).body.events as Array<{ to: string; worker_id: string | null }>;
        const completions = trail.filter((e) => e.to === 'COMPLETED');
        expect(completions, id).toHaveLength(1);
        const worker = completions[0]?.worker_id ?? '?';
        byWorker.set(worker, (byWorker.get(worker) ?? 0) + 1);
      }
      // The survivor finished what the doomed worker held or had not read when it died.
      expect(byWorker.get('survivor') ?? 0).toBeGreaterThan(0);

      for (const p of [api, survivor]) p.kill('SIGTERM');
      expect((await api.exited).code).toBe(0);
      expect((await survivor.exited).code).toBe(0);
    } finally {
      for (const p of processes) p.kill('SIGKILL');
      await Promise.all(processes.map((p) => p.exited));
      await mock.stop();
    }
  }, 400_000);
});

/**
 * Queue → HTTP on Kafka: bare JSON records written to the request topic by kcat (the broker's
 * own client, not OpenHQM) are wrapped, forwarded to the upstream and stored, each under an id
 * of its own, which the API then serves.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getJson, startCli } from '../helpers/cli.js';
import { kcatProduce, requireKcat, startMockKafka } from '../helpers/kafka.js';
import { tempDir } from '../helpers/temp.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

describe('Kafka: Queue → HTTP', () => {
  it('forwards and stores bare JSON records an outside producer (kcat) wrote to the topic', async (ctx) => {
    const missing = requireKcat();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const mock = await startMockKafka();
    const upstream = await startUpstream();
    const server = startCli(['start'], {
      OPENHQM_QUEUE__TYPE: 'kafka',
      OPENHQM_QUEUE__KAFKA_BOOTSTRAP_SERVERS: mock.brokers,
      OPENHQM_KAFKA__FETCH_MAX_WAIT_MS: '50',
      OPENHQM_SQLITE__PATH: join(tempDir('openhqm-kafka-bridge-'), 'store.db'),
      OPENHQM_PROXY__ENABLED: 'true',
      OPENHQM_PROXY__DEFAULT_ENDPOINT: `${upstream.url}/echo/hook`,
    });
    try {
      await server.ready();
      // The worker created the topic on start; kcat writes to it as any producer would.
      kcatProduce(mock.brokers, 'openhqm-requests', [JSON.stringify({ event: 'signup', user: 7 }), JSON.stringify([1, 2, 3])]);
      await waitFor(() => upstream.received.length === 2, { timeoutMs: 30_000, what: 'both records forwarded' });
      const bodies = upstream.received.map((r) => JSON.parse(r.body.toString()) as unknown);
      expect(bodies).toEqual(expect.arrayContaining([{ event: 'signup', user: 7 }, { value: [1, 2, 3] }]));
      const ids = upstream.received.map((r) => r.headers['x-correlation-id'] as string);
      expect(new Set(ids).size).toBe(2);
      for (const id of ids) {
        const result = await waitFor(async () => {
          const answer = await getJson(`${server.url}/api/v1/response/${id}`);
          return answer.body.status === 'COMPLETED' && answer;
        }, { timeoutMs: 30_000, what: `the stored result of ${id}` });
        expect(result.body).toMatchObject({ status: 'COMPLETED', status_code: 200 });
      }
      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    } finally {
      server.kill('SIGKILL');
      await server.exited;
      await mock.stop();
    }
  }, 120_000);
});

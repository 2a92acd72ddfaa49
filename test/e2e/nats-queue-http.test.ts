/**
 * Queue → HTTP on NATS: messages an outside producer publishes with the NATS client alone (no
 * OpenHQM code, no headers) as bare JSON to `<subject_prefix>.<queue>` are forwarded by the
 * worker, and each gets a record of its own, readable through the API.
 */
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { getJson, startCli } from '../helpers/cli.js';
import { dropNatsStreams, NATS_URL, natsPrefixes, requireNats } from '../helpers/nats.js';
import { tempDir } from '../helpers/temp.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

describe('NATS queue → HTTP', () => {
  const prefixes = natsPrefixes();
  afterAll(async () => {
    if ((await requireNats().catch(() => undefined)) === undefined) await dropNatsStreams(prefixes.stream_prefix);
  });

  it('forwards bare JSON a plain NATS client published, and stores each result under its own id', async (ctx) => {
    const missing = await requireNats();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const upstream = await startUpstream();
    const server = await startCli(['start'], {
      OPENHQM_QUEUE__TYPE: 'nats',
      OPENHQM_QUEUE__NATS_URL: NATS_URL,
      OPENHQM_NATS__STREAM_PREFIX: prefixes.stream_prefix,
      OPENHQM_NATS__SUBJECT_PREFIX: prefixes.subject_prefix,
      OPENHQM_SQLITE__PATH: join(tempDir(), 'store.db'),
      OPENHQM_PROXY__ENABLED: 'true',
      OPENHQM_PROXY__DEFAULT_ENDPOINT: `${upstream.url}/echo/hook`,
    }).ready();
    const nc = await connect({ servers: NATS_URL });
    try {
      // The worker created the stream when it started consuming; the producer only publishes.
      const js = jetstream(nc);
      const subject = `${prefixes.subject_prefix}.openhqm-requests`;
      await waitFor(async () => (await js.publish(subject, JSON.stringify({ event: 'signup', user: 7 })).catch(() => undefined)) !== undefined, { what: 'the stream to take a publish' });
      await js.publish(subject, JSON.stringify([1, 2, 3]));
      // A higher band is a subject too: `<subject>.high` for priorities 7–9.
      await js.publish(`${subject}.high`, JSON.stringify({ event: 'urgent' }));
      await waitFor(() => upstream.received.length === 3, { what: 'all three messages forwarded' });
      const bodies = upstream.received.map((r) => JSON.parse(r.body.toString()) as unknown);
      expect(bodies).toEqual(expect.arrayContaining([{ event: 'signup', user: 7 }, { value: [1, 2, 3] }, { event: 'urgent' }]));
      const ids = upstream.received.map((r) => r.headers['x-correlation-id'] as string);
      expect(new Set(ids).size).toBe(3);
      for (const id of ids) {
        const result = await waitFor(async () => {
          const res = await getJson(`${server.url}/api/v1/response/${id}`);
          return res.status === 200 ? res.body : undefined;
        }, { what: `the record of ${id}` });
        expect(result).toMatchObject({ status: 'COMPLETED', status_code: 200 });
      }
    } finally {
      await nc.close();
      server.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    }
  }, 60_000);
});

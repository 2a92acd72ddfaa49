/**
 * The NATS JetStream queue against the machine's server (127.0.0.1:4222, started with -js).
 * Every run of this file works under stream and subject prefixes of its own, whose streams are
 * deleted afterwards.
 */
import { afterAll } from 'vitest';
import { factory, type NatsQueue } from '../../src/adapters/queue/nats/index.js';
import { silentLogger } from '../../src/ports/logger.js';
import { describeQueueBackend } from '../../src/conformance/index.js';
import { dropNatsStreams, NATS_URL, natsPrefixes, requireNats } from '../helpers/nats.js';
import { vanishingProxy } from '../helpers/vanishing-proxy.js';
import { waitFor } from '../helpers/wait.js';

const context = { logger: silentLogger };
const prefixes = natsPrefixes();
const connection = { nats_url: NATS_URL, ...prefixes, request_timeout_ms: 2_000 };

afterAll(async () => {
  if ((await requireNats().catch(() => undefined)) === undefined) await dropNatsStreams(prefixes.stream_prefix);
});

describeQueueBackend('nats', async () => {
  const missing = await requireNats();
  if (missing !== undefined) return missing;
  return {
    open: (extra) => factory.create({ ...connection, ...extra }, context),
    // The connection dropped with nothing settled: what it held comes back when its AckWait runs out.
    crash: (backend) => (backend as NatsQueue).crash(),
    unreachable: async () => {
      // Connected through a proxy that then vanishes: the client is left reconnecting to nothing.
      const target = new URL(NATS_URL);
      const proxy = await vanishingProxy(target.hostname, Number(target.port || 4222));
      const queue = await factory.create({ ...connection, nats_url: `nats://127.0.0.1:${proxy.port}` }, context);
      proxy.vanish();
      try {
        return await waitFor(async () => {
          const report = await queue.health();
          return report.ok ? undefined : report;
        }, { what: 'health to see the lost server' });
      } finally {
        await queue.close();
      }
    },
  };
});

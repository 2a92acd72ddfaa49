/**
 * The Pub/Sub queue against the Cloud SDK's emulator, which this file starts on a free port and
 * kills after: the conformance suite twice (without and with ordering keys), and what is
 * particular to Pub/Sub. Ack deadlines come in whole seconds from 10 s, so the cases that let a
 * lease lapse wait tens of seconds: vitest gets two minutes a case.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { factory } from '../../src/adapters/queue/gcp_pubsub/index.js';
import { describeQueueBackend } from '../../src/conformance/index.js';
import type { HealthReport } from '../../src/ports/health.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { QueueHarness } from '../../src/conformance/queue-backend.js';
import { requirePubSubEmulator, startPubSubEmulator, type PubSubEmulator } from '../helpers/pubsub.js';
import { vanishingProxy } from '../helpers/vanishing-proxy.js';

vi.setConfig({ testTimeout: 120_000 });

const context = { logger: silentLogger };
let emulator: PubSubEmulator | undefined;

beforeAll(async () => {
  if (requirePubSubEmulator() === undefined) emulator = await startPubSubEmulator();
});

afterAll(async () => {
  await emulator?.stop();
});

const connection = (endpoint: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  gcp_project_id: 'hqm-test',
  endpoint,
  request_timeout_ms: 5000,
  ...extra,
});

function harness(prefix: string, extra: Record<string, unknown> = {}): () => Promise<QueueHarness | { skip: string }> {
  return async () => {
    const missing = requirePubSubEmulator();
    if (missing !== undefined || emulator === undefined) return missing ?? { skip: 'the Pub/Sub emulator did not start' };
    const endpoint = emulator.endpoint;
    return {
      open: (options) => factory.create({ ...connection(endpoint, { prefix, ...extra }), ...options }, context),
      // Closing cancels the pull and settles nothing: what was held comes back when its deadline lapses.
      crash: (backend) => backend.close(),
      unreachable: () => unreachableHealth(endpoint),
    };
  };
}

describeQueueBackend('gcp_pubsub', harness('hqm-a.'));
describeQueueBackend('gcp_pubsub with ordering keys', harness('hqm-o.', { ordering: true }));

/** health() of a queue whose connection went through a proxy that then vanished. */
async function unreachableHealth(endpoint: string): Promise<HealthReport> {
  const [host, port] = endpoint.split(':');
  const proxy = await vanishingProxy(host ?? '127.0.0.1', Number(port));
  const queue = await factory.create(connection(`127.0.0.1:${proxy.port}`, { request_timeout_ms: 1000 }), context);
  proxy.vanish();
  try {
    return await queue.health();
  } finally {
    await queue.close();
  }
}

describe('gcp_pubsub particulars', () => {
  it('refuses to start against an endpoint where nothing answers, with HQM_ERR_BACKEND_UNAVAILABLE', async () => {
    const proxy = await vanishingProxy('127.0.0.1', 9);
    proxy.vanish();
    const error = await factory.create(connection(`127.0.0.1:${proxy.port}`, { request_timeout_ms: 500 }), context).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'HQM_ERR_BACKEND_UNAVAILABLE' });
  });

  it('names a bad setting at start-up', async () => {
    const error = await factory.create({ endpoint: 'not a host', prefix: '1abc' }, context).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'HQM_ERR_CONFIG' });
    expect(String((error as Error).message)).toMatch(/gcp_pubsub\.endpoint/);
    expect(String((error as Error).message)).toMatch(/gcp_pubsub\.prefix/);
  });
});

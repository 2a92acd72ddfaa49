/**
 * The `mqtt` queue (at-most-once, D274) against the machine's Mosquitto: the conformance suite
 * for what it declares, and the start-up refusal without queue.mqtt_at_most_once. Every run
 * uses a topic prefix and a shared-subscription group of its own.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { factory } from '../../src/adapters/queue/mqtt/index.js';
import { checkCapabilities } from '../../src/app/backends.js';
import { loadConfig } from '../../src/config/load.js';
import { describeQueueBackend } from '../../src/conformance/index.js';
import { isHqmError } from '../../src/core/errors.js';
import type { QueueBackend } from '../../src/ports/queue-backend.js';
import type { ResultStore } from '../../src/ports/result-store.js';
import { silentLogger } from '../../src/ports/logger.js';
import { clearRetained, MQTT_HOST, MQTT_PORT, requireMosquitto, testName } from '../helpers/mqtt.js';
import { CLI } from '../helpers/cli.js';
import { freePort } from '../helpers/servers.js';
import { vanishingProxy } from '../helpers/vanishing-proxy.js';
import { waitFor } from '../helpers/wait.js';

const context = { logger: silentLogger };
const name = testName();
const connection = { mqtt_broker_host: MQTT_HOST, mqtt_broker_port: MQTT_PORT, mqtt_topic_prefix: name, mqtt_share_group: name, mqtt_at_most_once: true };

afterAll(() => clearRetained(`${name}/_openhqm/secret`).catch(() => undefined));

describeQueueBackend('mqtt', async () => {
  const missing = await requireMosquitto();
  if (missing !== undefined) return missing;
  return {
    open: (extra) => factory.create({ ...connection, ...extra }, context),
    unreachable: async () => {
      const proxy = await vanishingProxy(MQTT_HOST, MQTT_PORT);
      const queue = await factory.create({ ...connection, mqtt_broker_host: '127.0.0.1', mqtt_broker_port: proxy.port }, context);
      proxy.vanish();
      try {
        // The client notices the closed socket on its next turn.
        await waitFor(async () => !(await queue.health()).ok, { what: 'the lost connection to show' });
        return await queue.health();
      } finally {
        await queue.close();
      }
    },
  };
});

describe('mqtt queue start-up', () => {
  it('refuses to start without queue.mqtt_at_most_once, naming the key and why', async () => {
    const error = await factory.create({ ...connection, mqtt_at_most_once: false }, context).catch((e: unknown) => e);
    expect(isHqmError(error) && error.code).toBe('HQM_ERR_CONFIG');
    expect(String((error as Error).message)).toMatch(/queue\.mqtt_at_most_once: .*at most once.*drops a message.*bridge mqtt/s);
  });

  it('`openhqm worker` with queue.type mqtt and no opt-in exits 2 before it connects, saying why', () => {
    const done = spawnSync(process.execPath, [CLI, 'worker'], { encoding: 'utf8', env: { ...process.env, OPENHQM_QUEUE__TYPE: 'mqtt', OPENHQM_QUEUE__MQTT_BROKER_PORT: '1' }, timeout: 30_000 });
    expect(done.status).toBe(2);
    expect(done.stderr).toMatch(/queue\.mqtt_at_most_once: .*at most once/);
  });

  it('with the opt-in, lets workers run on it: the capability check accepts what the adapter declared', async (ctx) => {
    const missing = await requireMosquitto();
    if (missing !== undefined) return ctx.skip(missing.skip);
    const queue: QueueBackend = await factory.create(connection, context);
    try {
      const { config } = loadConfig({ env: {}, overrides: { queue: { type: 'mqtt', mqtt_at_most_once: true }, worker: { retry_delay_base: 1 } } });
      const store = { type: 'sqlite', capabilities: { durable: true, sharedChangeFeed: true, tenantConcurrency: true } } as unknown as ResultStore;
      expect(() => checkCapabilities(config, { api: true, worker: true }, queue, store)).not.toThrow();
    } finally {
      await queue.close();
    }
  });

  it('a broker that cannot be reached stops the start with HQM_ERR_BACKEND_UNAVAILABLE naming it', async () => {
    const port = await freePort();
    const error = await factory.create({ ...connection, mqtt_broker_host: '127.0.0.1', mqtt_broker_port: port }, context).catch((e: unknown) => e);
    expect(isHqmError(error) && error.code).toBe('HQM_ERR_BACKEND_UNAVAILABLE');
    expect(String((error as Error).message)).toContain(`127.0.0.1:${port}`);
  });
});

/**
 * The composition of `openhqm bridge mqtt` (D271): the configured durable queue and result
 * store, opened and checked as `openhqm api` opens them, an MQTT bridge that submits through the
 * API's own submit path (accept), and a probe listener on monitoring.metrics_port. Shutdown:
 * (1) readiness goes 503, (2) the bridge stops taking messages and acknowledges the one it is
 * storing, (3) the probe listener and (4) the backends close.
 *
 * @module
 */
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { accept } from '../api/accept.js';
import type { ApiOptions } from '../api/context.js';
import { buildProbes } from '../api/build-probes.js';
import { DepthGates } from '../api/load-shedding.js';
import { MqttBridge, type BridgeSink } from '../adapters/ingress/mqtt/bridge.js';
import { mqttConnectionSchema } from '../adapters/shared/mqtt/connection.js';
import { parseOptions } from '../adapters/shared/options.js';
import type { Config } from '../config/schema.js';
import { ConfigError, HqmError, isHqmError } from '../core/errors.js';
import { HqmEvents } from '../core/events.js';
import { DEFAULT_QUEUE, normalizeMetadata } from '../core/request/envelope.js';
import type { PinoLogger } from '../observability/logger.js';
import type { QueueBackend } from '../ports/queue-backend.js';
import type { ResultStore } from '../ports/result-store.js';
import { checkCapabilities, createFused, createQueue, createStore } from './backends.js';
import { apiOptions } from './options.js';
import { closeInTurn, type ShutdownStep } from './shutdown.js';
import { VERSION } from './version.js';

export interface BridgeFlags {
  readonly topics: readonly string[];
  /** The shared-subscription group; queue.mqtt_share_group when absent. */
  readonly group?: string;
  /** The session's client id; queue.mqtt_client_id, else one made of the group and the host name. */
  readonly clientId?: string;
  /** The named queue bridged requests go to; `default` when absent. */
  readonly queue?: string;
}

export interface RunningBridge {
  readonly url: string | undefined;
  readonly stop: () => Promise<void>;
}

/** The worker stamps this on the attempt it records; the bridge's refusals carry it too. */
const BRIDGE_WORKER = 'mqtt-bridge';

export async function startMqttBridge(config: Config, flags: BridgeFlags, logger: PinoLogger): Promise<RunningBridge> {
  const settings = bridgeSettings(config, flags);
  const context = { logger };
  let queue: QueueBackend | undefined;
  let store: ResultStore | undefined;
  let bridge: MqttBridge | undefined;
  let probes: FastifyInstance | undefined;
  let closing = false;
  const steps = (): ShutdownStep[] => [
    { name: 'stop the MQTT bridge', run: () => bridge?.stop() },
    { name: 'close the probe listener', run: () => probes?.close() },
    { name: 'close the result store', run: () => store?.close() },
    { name: 'close the queue', run: () => queue?.close() },
  ];
  try {
    queue = await createQueue(config, context);
    store = await createStore(config, context);
    // Neither API nor worker here: the queue and the store must be shared with the processes that run the requests.
    checkCapabilities(config, { api: false, worker: false }, queue, store);
    if (queue.capabilities.delivery === 'at-most-once') {
      throw new HqmError('HQM_ERR_CAPABILITY', `queue.type: the bridge moves MQTT messages into a queue that keeps them; the ${queue.type} queue delivers at most once, so choose sqlite, redis, postgres, nats, kafka or rabbitmq`);
    }
    const fused = await createFused(config, queue, store, context);
    const options = apiOptions(config, {});
    const sink = durableSink({ queue, store, fused, events: new HqmEvents(), tracing: undefined, options, depthGate: new DepthGates(queue, 0) }, settings.queue);
    const idSecret = config.queue.id_secret ?? (await queue.deploymentSecret());
    bridge = new MqttBridge(
      sink,
      { ...settings, idSecret, limits: { maxBytes: config.api.max_body_bytes, maxDepth: config.api.max_json_depth } },
      logger.child({ component: 'mqtt-bridge' }),
    );
    await bridge.start();
    const live = bridge;
    let url: string | undefined;
    if (config.monitoring.metrics_port > 0) {
      probes = buildProbes({ queue, store, components: async () => ({ mqtt: live.health() }), closing: () => closing, version: VERSION }, logger);
      url = await probes.listen({ host: config.server.host, port: config.monitoring.metrics_port });
    }
    logger.info({ version: VERSION, url, queue: queue.type, store: store.type, topics: settings.topics, group: settings.group }, `OpenHQM MQTT bridge running${url === undefined ? '' : `; health on ${url}`}`);
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        logger.info({ bridged: live.bridged }, 'shutting down');
        closing = true;
        await closeInTurn(steps(), logger);
        logger.info({}, 'shutdown complete');
      })();
      return stopping;
    };
    return { url, stop };
  } catch (error) {
    closing = true;
    await closeInTurn(steps(), logger).catch(() => undefined);
    throw error;
  }
}

interface BridgeSettings {
  readonly connection: ReturnType<typeof mqttConnectionSchema.parse>;
  readonly clientId: string;
  readonly group: string;
  readonly topics: readonly string[];
  readonly qos: 1 | 2;
  readonly queue: string;
}

/** The flags and the queue.mqtt_* keys, refused with HQM_ERR_CONFIG naming what is wrong. */
function bridgeSettings(config: Config, flags: BridgeFlags): BridgeSettings {
  const connection = parseOptions(mqttConnectionSchema, config.queue, 'queue');
  const group = flags.group ?? config.queue.mqtt_share_group;
  const issues: Array<{ path: string; message: string }> = [];
  if (flags.topics.length === 0) issues.push({ path: '--topic', message: 'name at least one topic filter to bridge' });
  for (const topic of flags.topics) {
    if (!isTopicFilter(topic)) {
      issues.push({ path: '--topic', message: `"${topic}" is not an MQTT topic filter (+ takes a whole level, # only the last; the bridge adds $share/<group>/ itself)` });
    }
  }
  if (!/^[^/+#]+$/.test(group)) issues.push({ path: flags.group === undefined ? 'queue.mqtt_share_group' : '--group', message: `"${group}" cannot name a shared-subscription group (no /, + or #)` });
  // QoS 0 has no acknowledgement: a message the bridge had not stored when it crashed would be gone.
  if (connection.mqtt_qos === 0) issues.push({ path: 'queue.mqtt_qos', message: 'the bridge acknowledges a message only once it is stored, which takes QoS 1 or 2' });
  const queue = flags.queue ?? DEFAULT_QUEUE;
  const queues = apiOptions(config, {}).queues;
  if (!queues.has(queue)) issues.push({ path: '--queue', message: `unknown queue "${queue}" (configured: ${[...queues.keys()].join(', ')})` });
  if (issues.length > 0) throw new ConfigError(issues);
  const clientId = flags.clientId ?? (connection.mqtt_client_id === '' ? `openhqm-bridge-${group}-${hostname()}` : connection.mqtt_client_id);
  return { connection, clientId, group, topics: flags.topics, qos: connection.mqtt_qos as 1 | 2, queue };
}

type SinkContext = Parameters<typeof accept>[0] & { readonly options: ApiOptions };

/** Submits as `POST /submit` does; refusals become FAILED records with the reason. */
function durableSink(ctx: SinkContext, queue: string): BridgeSink {
  const { store, options } = ctx;
  const timeout = options.queueTimeouts?.get(queue) ?? options.defaultTimeoutSeconds;
  return {
    async submit({ id, payload, topic }) {
      try {
        await accept(ctx, { id, payload, headers: { 'x-mqtt-topic': topic }, metadata: queue === DEFAULT_QUEUE ? {} : { queue }, request: null, traceparent: null, forwarding: {}, tenant: null });
        return true;
      } catch (error) {
        if (isHqmError(error) && error.code === 'HQM_ERR_DUPLICATE_ID') return false;
        throw error;
      }
    },
    async refuse({ id, reason, topic }) {
      const now = Date.now();
      const error = `the MQTT bridge refused the message on ${topic}: ${reason}`;
      await store
        .create({ id, queue, priority: normalizeMetadata({}, { timeout }).priority, submittedAt: now, deadlineAt: now + timeout * 1000, ttlMs: options.ttlMs })
        .catch((e: unknown) => {
          if (!(isHqmError(e) && e.code === 'HQM_ERR_DUPLICATE_ID')) throw e;
        });
      // Through PROCESSING, as a worker fails a request: PENDING cannot move to FAILED. Each step
      // is a compare-and-set, so a redelivery after a crash between them finishes the same record.
      await store.transition({ id, from: ['PENDING'], to: 'PROCESSING', attempt: 1, workerId: BRIDGE_WORKER });
      await store.transition({ id, from: ['PROCESSING'], to: 'FAILED', attempt: 1, workerId: BRIDGE_WORKER, error });
    },
  };
}

/** An MQTT topic filter: `+` a whole level, `#` only the whole last level; `$share/` is the bridge's to add. */
function isTopicFilter(topic: string): boolean {
  if (topic === '' || topic.startsWith('$share/')) return false;
  const levels = topic.split('/');
  return levels.every((level, i) => level === '+' || (level === '#' && i === levels.length - 1) || !/[+#]/.test(level));
}

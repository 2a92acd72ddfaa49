/**
 * `queue.type: mqtt` — MQTT v5 as an at-most-once queue (D274). MQTT has no work queue: a
 * message goes to the sessions subscribed when it is published, and one a dead consumer held is
 * gone (its clean session with it). Each OpenHQM queue is the topic `<prefix>/<queue>`, shared by
 * its consumers as `$share/<group>/<prefix>/<queue>`. The adapter refuses to start unless
 * `queue.mqtt_at_most_once` says the deployment accepts that; for durable processing of MQTT
 * traffic, `openhqm bridge mqtt` moves it into a durable queue instead.
 *
 * Emulated in this process, and lost with it: delays (a timer before the publish), and retry or
 * release (a publish again). Nothing is counted at the broker (stats: none) and dead letters are
 * dropped with a log line: the worker records the reason in the result store.
 *
 * @module
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { ConfigError, HqmError } from '../../../core/errors.js';
import type { AdapterContext, QueueBackendFactory } from '../../../ports/adapter.js';
import type { HealthReport } from '../../../ports/health.js';
import type { Logger } from '../../../ports/logger.js';
import type {
  ConsumeOptions,
  DeadLetter,
  DeadLetterPage,
  DeliveryHandler,
  OutboundMessage,
  PublishReceipt,
  QueueBackend,
  QueueCapabilities,
  QueueStats,
  Subscription,
} from '../../../ports/queue-backend.js';
import { assertSize, clampPriority } from '../../shared/messages.js';
import { connectMqtt, translateMqttError } from '../../shared/mqtt/connection.js';
import { parseOptions } from '../../shared/options.js';
import { mqttQueueOptionsSchema, secretTopic, topicOf, type MqttQueueOptions } from './config.js';
import { MqttSubscription, type SubscriptionHost } from './consumer.js';
import { readSecret } from './secret.js';
import { propertiesOf, type WireMessage } from './wire.js';

/** Node's longest timer: the emulated delays go no further. */
const LONGEST_DELAY_MS = 2_147_483_647;

export const factory: QueueBackendFactory = {
  type: 'mqtt',
  async create(raw, context: AdapterContext) {
    const options = parseOptions(mqttQueueOptionsSchema, raw, 'queue');
    if (!options.mqtt_at_most_once) {
      throw new ConfigError([
        {
          path: 'queue.mqtt_at_most_once',
          message:
            'queue.type mqtt delivers each request at most once: MQTT drops a message no consumer is subscribed for, and a message a worker held when it died is delivered to nobody. Set it to true to accept that, or keep a durable queue and move MQTT traffic into it with `openhqm bridge mqtt`',
        },
      ]);
    }
    const logger = context.logger.child({ component: 'queue', backend: 'mqtt' });
    const prefix = options.mqtt_client_id === '' ? 'openhqm' : options.mqtt_client_id;
    const client = await connectMqtt(options, { clientId: `${prefix}-pub-${randomUUID().slice(0, 8)}`, persistent: false });
    return new MqttQueue(client, options, logger);
  },
};

export class MqttQueue implements QueueBackend {
  readonly type = 'mqtt';
  readonly capabilities: QueueCapabilities;
  readonly #subscriptions = new Set<MqttSubscription>();
  readonly #inFlight = new Map<string, number>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #host: SubscriptionHost;
  #secret: Promise<string> | undefined;
  #closed = false;

  constructor(
    private readonly client: MqttClient,
    private readonly options: MqttQueueOptions,
    private readonly logger: Logger,
  ) {
    this.capabilities = {
      delay: true,
      priority: false,
      fifo: false,
      maxMessageBytes: options.max_message_bytes,
      durable: false,
      shared: true,
      partitionOrdering: false,
      delays: { maxMs: LONGEST_DELAY_MS, granularityMs: 1 },
      lease: null,
      redelivery: 'none',
      deliveryCounting: 'deliveries',
      staleSettles: 'harmless',
      priorities: 'none',
      ordering: 'none',
      stats: 'none',
      deadLetterBrowsing: false,
      delivery: 'at-most-once',
    };
    client.on('error', (error) => logger.warn({ err: error }, 'MQTT connection error'));
    this.#host = {
      options,
      logger,
      republish: (queue, message, delayMs) => {
        this.#later(delayMs, () => this.#send(queue, message)).catch((error: unknown) => logger.warn({ err: error, queue }, 'MQTT retry lost: its publish failed'));
      },
      inFlight: (queue, change) => this.#inFlight.set(queue, (this.#inFlight.get(queue) ?? 0) + change),
    };
  }

  async publish(queue: string, message: OutboundMessage): Promise<PublishReceipt> {
    this.#assertOpen();
    assertSize(message.body, this.capabilities.maxMessageBytes);
    const wire: WireMessage = { body: message.body, id: randomUUID(), enqueuedAt: Date.now(), count: 1, priority: clampPriority(message.priority), partitionKey: message.partitionKey ?? null };
    const delayMs = message.delayMs ?? 0;
    // A delayed message waits in this process: it is accepted now, and lost if the process ends first.
    if (delayMs > 0) void this.#later(delayMs, () => this.#send(queue, wire)).catch((error: unknown) => this.logger.warn({ err: error, queue }, 'delayed MQTT message lost: its publish failed'));
    else await this.#send(queue, wire);
    return { messageId: wire.id };
  }

  async #send(queue: string, message: WireMessage): Promise<void> {
    if (this.#closed) return;
    try {
      await this.client.publishAsync(topicOf(this.options, queue), message.body, { qos: this.options.mqtt_qos as 0 | 1 | 2, properties: { userProperties: propertiesOf(message) } });
    } catch (error) {
      throw translateMqttError(error, `publishing to ${topicOf(this.options, queue)}`);
    }
  }

  /** Runs `send` after `delayMs` (at once when 0); a close cancels what has not run. */
  #later(delayMs: number, send: () => Promise<void>): Promise<void> {
    if (delayMs <= 0) return send();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        send().then(resolve, reject);
      }, Math.min(delayMs, LONGEST_DELAY_MS));
      this.#timers.add(timer);
    });
  }

  consume(queue: string, options: ConsumeOptions, handler: DeliveryHandler): Subscription {
    this.#assertOpen();
    const filter = `$share/${this.options.mqtt_share_group}/${topicOf(this.options, queue)}`;
    const subscription = new MqttSubscription(this.#host, queue, filter, options, handler);
    this.#subscriptions.add(subscription);
    return subscription;
  }

  /** The broker counts nothing per topic: what this process holds, and zeros (stats: none). */
  stats(queue: string): Promise<QueueStats> {
    this.#assertOpen();
    return Promise.resolve({ depth: 0, delayed: 0, inFlight: this.#inFlight.get(queue) ?? 0, deadLettered: 0, oldestReadyAt: undefined });
  }

  deadLetters(): Promise<readonly DeadLetter[]> {
    return Promise.resolve([]);
  }

  browseDeadLetters(): Promise<DeadLetterPage> {
    return Promise.resolve({ letters: [], next: null });
  }

  getDeadLetter(): Promise<DeadLetter | undefined> {
    return Promise.resolve(undefined);
  }

  removeDeadLetter(): Promise<boolean> {
    return Promise.resolve(false);
  }

  purgeDeadLetters(): Promise<number> {
    return Promise.resolve(0);
  }

  replayDeadLetter(): Promise<PublishReceipt | undefined> {
    return Promise.resolve(undefined);
  }

  health(): Promise<HealthReport> {
    if (this.#closed) return Promise.resolve({ ok: false, detail: 'closed' });
    if (!this.client.connected) return Promise.resolve({ ok: false, detail: 'not connected to the MQTT broker' });
    // A subscription that lost its connection takes nothing, however alive the process looks.
    for (const subscription of this.#subscriptions) {
      if (!subscription.stopped && !subscription.consuming) return Promise.resolve({ ok: false, detail: `not consuming ${subscription.queue}${subscription.lastError === undefined ? '' : `: ${subscription.lastError}`}` });
    }
    return Promise.resolve({ ok: true });
  }

  deploymentSecret(): Promise<string> {
    this.#assertOpen();
    this.#secret ??= readSecret(this.client, secretTopic(this.options), () => randomBytes(32).toString('hex'));
    this.#secret.catch(() => (this.#secret = undefined));
    return this.#secret;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.all([...this.#subscriptions].map((s) => s.stop()));
    this.#subscriptions.clear();
    await this.client.endAsync().catch(() => undefined);
  }

  #assertOpen(): void {
    if (this.#closed) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the MQTT queue is closed', { retryable: false });
  }
}

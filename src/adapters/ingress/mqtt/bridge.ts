/**
 * The MQTT ingress bridge (D271): a persistent MQTT v5 session (clean start false, a session
 * expiry) subscribed to `$share/<group>/<topic>` for each topic, that hands each message to a
 * durable sink and acknowledges it (PUBACK, or PUBREC at QoS 2) only once the sink has stored
 * it. A crash before the acknowledgement leaves the message in the broker's session, which
 * delivers it again when the bridge reconnects under the same client id.
 *
 * mqtt.js hands over the next message only once the previous one is acknowledged
 * (`customHandleAcks`), so the bridge moves one message at a time, in the order the broker sent
 * them, and acknowledgements go out in that order as MQTT asks of QoS 1.
 *
 * @module
 */
import type { MqttClient } from 'mqtt';
import { setTimeout as sleep } from 'node:timers/promises';
import { HqmError, isHqmError } from '../../../core/errors.js';
import type { HealthReport } from '../../../ports/health.js';
import type { Logger } from '../../../ports/logger.js';
import { connectMqtt, translateMqttError, type MqttConnectionOptions } from '../../shared/mqtt/connection.js';
import { bridgedId, readMessage, type Limits } from './message.js';

/** Where bridged messages go: the durable queue and result store, as the HTTP submit writes them. */
export interface BridgeSink {
  /** Stores the request (record and queue message); resolves false when a request with this id exists already. */
  submit(request: { id: string; payload: Readonly<Record<string, unknown>>; topic: string }): Promise<boolean>;
  /** Stores a FAILED record with the reason, so the refusal can be listed and read; idempotent by id. */
  refuse(refusal: { id: string; reason: string; topic: string }): Promise<void>;
}

export interface BridgeOptions {
  readonly connection: MqttConnectionOptions;
  readonly clientId: string;
  readonly group: string;
  readonly topics: readonly string[];
  /** queue.mqtt_qos: 1 or 2 (QoS 0 has no acknowledgement to hold back). */
  readonly qos: 1 | 2;
  readonly limits: Limits;
  /** Keys the ids derived from correlation data (queue.id_secret or the deployment secret). */
  readonly idSecret: string;
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5_000;

export class MqttBridge {
  #client: MqttClient | undefined;
  #current: Promise<void> = Promise.resolve();
  #stopping = false;
  readonly #stopped = new AbortController();
  /** The sink's last failure while a message waits to be stored; cleared once one is stored. */
  #sinkError: string | undefined;
  #bridged = 0;

  constructor(
    private readonly sink: BridgeSink,
    private readonly options: BridgeOptions,
    private readonly logger: Logger,
  ) {}

  get bridged(): number {
    return this.#bridged;
  }

  /** Connects and subscribes; rejects (HQM_ERR_BACKEND_UNAVAILABLE) when the broker cannot be reached or refuses a subscription. */
  async start(): Promise<void> {
    const client = await connectMqtt(this.options.connection, {
      clientId: this.options.clientId,
      persistent: true,
      onMessage: (topic, payload, packet, done) => {
        // Once stopping, a message is left unacknowledged in the session: it comes again on the next start.
        if (this.#stopping) return;
        this.#current = this.#move(topic, payload, packet.properties?.correlationData).then(
          (moved) => {
            if (moved) done(0);
          },
          (error: unknown) => this.logger.error({ err: error, topic }, 'MQTT message not moved; it stays unacknowledged'),
        );
      },
    });
    this.#client = client;
    client.on('error', (error) => this.logger.warn({ err: error }, 'MQTT connection error'));
    client.on('offline', () => this.logger.warn({}, 'MQTT broker unreachable: reconnecting'));
    client.on('connect', (connack) => this.logger.info({ session_present: connack.sessionPresent }, 'connected to the MQTT broker'));
    const filters = this.options.topics.map((topic) => `$share/${this.options.group}/${topic}`);
    try {
      const granted = await client.subscribeAsync(filters, { qos: this.options.qos });
      const refused = granted.filter((g) => g.qos > 2);
      if (refused.length > 0) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', `the MQTT broker refused the subscription to ${refused.map((g) => g.topic).join(', ')} (reason code ${refused[0]?.qos}): check its ACL`);
    } catch (error) {
      await client.endAsync(true).catch(() => undefined);
      throw translateMqttError(error, 'subscribing');
    }
    this.logger.info({ filters, client_id: this.options.clientId, qos: this.options.qos }, 'MQTT bridge subscribed');
  }

  health(): HealthReport {
    if (this.#stopping) return { ok: false, detail: 'stopping' };
    if (this.#client?.connected !== true) return { ok: false, detail: 'not connected to the MQTT broker' };
    if (this.#sinkError !== undefined) return { ok: false, detail: `cannot store bridged messages: ${this.#sinkError}` };
    return { ok: true };
  }

  /**
   * Stops taking messages, lets the one being stored finish and be acknowledged, then
   * disconnects. The session and its subscriptions stay: messages published meanwhile wait in
   * it for the next start (unsubscribing would let the broker drop them when no other bridge
   * of the group is connected).
   */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#stopped.abort();
    await this.#current;
    await this.#client?.endAsync().catch((error: unknown) => this.logger.warn({ err: error }, 'MQTT disconnect failed'));
  }

  /** Stores one message; true when it may be acknowledged, false when stopping cut its retries short. */
  async #move(topic: string, payload: Buffer, correlationData: Buffer | undefined): Promise<boolean> {
    const { id } = bridgedId(topic, correlationData, this.options.idSecret);
    let read = readMessage(id, payload, this.options.limits);
    for (let failures = 0; ; failures += 1) {
      try {
        if (read.kind === 'refused') {
          await this.sink.refuse({ id, reason: read.reason, topic });
          this.logger.warn({ id, topic, reason: read.reason }, 'MQTT message refused: stored as a FAILED request');
        } else if (!(await this.sink.submit({ id, payload: read.payload, topic }))) {
          this.logger.debug({ id, topic }, 'MQTT message delivered again: its request exists already');
        }
        this.#sinkError = undefined;
        this.#bridged += 1;
        return true;
      } catch (error) {
        // Refused for good by the submit path (larger than the queue takes, say): a refusal to record, not to retry.
        if (read.kind === 'request' && isHqmError(error) && !error.retryable) {
          read = { kind: 'refused', id, reason: error.message };
          continue;
        }
        this.#sinkError = error instanceof Error ? error.message : String(error);
        const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(failures, 10));
        this.logger.warn({ err: error, id, topic, retry_in_ms: delay }, 'storing an MQTT message failed: retrying');
        if (!(await pause(delay, this.#stopped.signal))) return false;
      }
    }
  }
}

/** Waits `ms`; false when `signal` ended the wait. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * One subscription of the `mqtt` queue: its own connection (a clean session: nothing survives
 * it, D274) sharing `$share/<group>/<topic>` with the other consumers of the queue. The broker
 * pushes and mqtt.js acknowledges on arrival; deliveries wait here until the handler has room.
 * What waits here when the subscription stops or the process dies is lost: at-most-once.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { Logger } from '../../../ports/logger.js';
import type { ConsumeOptions, Delivery, DeliveryHandler, Subscription } from '../../../ports/queue-backend.js';
import { connectMqtt } from '../../shared/mqtt/connection.js';
import type { MqttQueueOptions } from './config.js';
import { messageOf, type WireMessage } from './wire.js';

export interface SubscriptionHost {
  readonly options: MqttQueueOptions;
  readonly logger: Logger;
  /** Publishes the message to `queue` again after `delayMs` (a retry or a release). */
  republish(queue: string, message: WireMessage, delayMs: number): void;
  inFlight(queue: string, change: 1 | -1): void;
}

export class MqttSubscription implements Subscription {
  #client: MqttClient | undefined;
  readonly #waiting: WireMessage[] = [];
  #active = 0;
  #stopped = false;
  readonly #unregister: (() => void) | undefined;
  lastError: string | undefined;

  constructor(
    private readonly host: SubscriptionHost,
    readonly queue: string,
    private readonly filter: string,
    private readonly consume: ConsumeOptions,
    private readonly handler: DeliveryHandler,
  ) {
    this.#unregister = consume.gate?.onRaise(() => this.#pump());
    this.#start().catch((error: unknown) => {
      this.lastError = error instanceof Error ? error.message : String(error);
      host.logger.error({ err: error, queue }, 'MQTT subscription failed');
    });
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Subscribed, with a live connection. */
  get consuming(): boolean {
    return this.#client?.connected === true;
  }

  async #start(): Promise<void> {
    const { options } = this.host;
    const prefix = options.mqtt_client_id === '' ? 'openhqm' : options.mqtt_client_id;
    const client = await connectMqtt(options, { clientId: `${prefix}-sub-${randomUUID().slice(0, 8)}`, persistent: false });
    if (this.#stopped) {
      await client.endAsync(true);
      return;
    }
    this.#client = client;
    client.on('message', (_topic, payload, packet) => {
      if (this.#stopped) return;
      this.#waiting.push(messageOf(payload, packet));
      this.#pump();
    });
    client.on('error', (error) => (this.lastError = error.message));
    // A clean session forgets its subscriptions with the connection; mqtt.js subscribes again after each reconnect (resubscribe).
    await client.subscribeAsync(this.filter, { qos: options.mqtt_qos as 0 | 1 | 2 });
  }

  #pump(): void {
    const limit = Math.min(this.consume.concurrency, this.consume.gate?.limit() ?? Number.POSITIVE_INFINITY);
    while (!this.#stopped && this.#active < limit && this.#waiting.length > 0) {
      const message = this.#waiting.shift() as WireMessage;
      this.#active += 1;
      this.host.inFlight(this.queue, 1);
      const finished = (): void => {
        this.#active -= 1;
        this.#pump();
      };
      this.handler(this.#delivery(message)).then(finished, (error: unknown) => {
        this.host.logger.error({ err: error, queue: this.queue }, 'delivery handler failed');
        finished();
      });
    }
  }

  #delivery(message: WireMessage): Delivery {
    let settled = false;
    const settle = (then?: () => void): Promise<void> => {
      if (settled) return Promise.resolve();
      settled = true;
      this.host.inFlight(this.queue, -1);
      then?.();
      return Promise.resolve();
    };
    return {
      messageId: message.id,
      body: message.body,
      deliveryCount: message.count,
      priority: message.priority,
      partitionKey: message.partitionKey,
      enqueuedAt: message.enqueuedAt,
      ack: () => settle(),
      retry: (delayMs) => settle(() => this.host.republish(this.queue, { ...message, count: message.count + 1 }, delayMs)),
      release: (delayMs = 0) => settle(() => this.host.republish(this.queue, message, delayMs)),
      // Nowhere to keep it: the worker records the reason in the result store (a FAILED request).
      deadLetter: (reason) => settle(() => this.host.logger.warn({ queue: this.queue, message_id: message.id, reason }, 'MQTT message dead-lettered: dropped (the mqtt queue keeps no dead letters)')),
      // No lease to extend: nothing would redeliver it anyway.
      extend: () => Promise.resolve(),
    };
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unregister?.();
    this.#waiting.length = 0;
    await this.#client?.endAsync().catch(() => undefined);
  }
}

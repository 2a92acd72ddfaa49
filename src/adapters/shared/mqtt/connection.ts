/**
 * One MQTT v5 connection for the MQTT bridge and the `mqtt` queue (D270): the `queue.mqtt_*`
 * settings, the `mqtt` package loaded only here (an optional dependency), and its failures in
 * the terms of the error catalogue. The first connect must succeed, so a process pointed at a
 * broker it cannot reach stops at start-up; after that the client reconnects by itself.
 *
 * @module
 */
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import { z } from 'zod';
import { HqmError, isHqmError } from '../../../core/errors.js';

/** The broker settings both users read from the queue section. */
export const mqttConnectionSchema = z.object({
  mqtt_broker_host: z.string().min(1).default('localhost'),
  mqtt_broker_port: z.number().int().min(1).max(65_535).default(1883),
  mqtt_username: z.string().default(''),
  mqtt_password: z.string().default(''),
  mqtt_qos: z.number().int().min(0).max(2).default(1),
  mqtt_client_id: z.string().default(''),
  /** How long the broker keeps a disconnected session (its subscriptions and unacknowledged messages). */
  mqtt_session_expiry_seconds: z.number().int().min(0).max(4_294_967_295).default(86_400),
});

export type MqttConnectionOptions = z.infer<typeof mqttConnectionSchema>;

export interface MqttSession {
  readonly clientId: string;
  /** Clean start false and a session expiry: subscriptions and unacknowledged messages outlive the connection. */
  readonly persistent: boolean;
  /** Called for each QoS 1/2 message; the acknowledgement is sent only when `done` is called (mqtt.js `customHandleAcks`). */
  readonly onMessage?: (topic: string, payload: Buffer, packet: IPublishPacket, done: (code: number) => void) => void;
}

const CONNECT_TIMEOUT_MS = 10_000;
const RECONNECT_MS = 1_000;

/** Connects, or rejects with HQM_ERR_BACKEND_UNAVAILABLE naming the broker. */
export async function connectMqtt(options: MqttConnectionOptions, session: MqttSession): Promise<MqttClient> {
  const mqtt = await loadDriver();
  const where = `${options.mqtt_broker_host}:${options.mqtt_broker_port}`;
  const clientOptions: IClientOptions = {
    protocolVersion: 5,
    host: options.mqtt_broker_host,
    port: options.mqtt_broker_port,
    clientId: session.clientId,
    clean: !session.persistent,
    ...(session.persistent ? { properties: { sessionExpiryInterval: options.mqtt_session_expiry_seconds } } : {}),
    ...(options.mqtt_username === '' ? {} : { username: options.mqtt_username }),
    ...(options.mqtt_password === '' ? {} : { password: options.mqtt_password }),
    connectTimeout: CONNECT_TIMEOUT_MS,
    reconnectPeriod: RECONNECT_MS,
    ...(session.onMessage === undefined ? {} : { customHandleAcks: session.onMessage as IClientOptions['customHandleAcks'] }),
  };
  try {
    // allowRetries false: a broker that is not there fails the start, it is not waited for.
    return await mqtt.connectAsync(`mqtt://${where}`, clientOptions, false);
  } catch (error) {
    throw translateMqttError(error, `connecting to the MQTT broker at ${where}`);
  }
}

export function translateMqttError(error: unknown, what: string): HqmError {
  if (isHqmError(error)) return error;
  const detail = error instanceof Error ? error.message.split('\n', 1)[0] : String(error);
  return new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', `${what}: MQTT is unavailable (${detail})`, { cause: error });
}

type MqttDriver = { connectAsync: (url: string, options: IClientOptions, allowRetries?: boolean) => Promise<MqttClient> };

async function loadDriver(): Promise<MqttDriver> {
  try {
    return await import('mqtt');
  } catch (cause) {
    throw new HqmError('HQM_ERR_ADAPTER_UNKNOWN', 'MQTT needs the mqtt package: npm install mqtt@5.16', { cause });
  }
}

/**
 * MQTT for tests: the machine's Mosquitto (127.0.0.1:1883, or OPENHQM_TEST_MQTT_HOST/PORT), with
 * every topic and shared-subscription group of a run under names of its own.
 */
import { randomUUID } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';
import { requireServer } from './servers.js';

export const MQTT_HOST = process.env.OPENHQM_TEST_MQTT_HOST ?? '127.0.0.1';
export const MQTT_PORT = Number(process.env.OPENHQM_TEST_MQTT_PORT ?? 1883);

/** Skip (or, under CI=true, fail) when the machine's Mosquitto is not there. */
export function requireMosquitto(): Promise<{ skip: string } | undefined> {
  return requireServer('Mosquitto (MQTT)', MQTT_HOST, MQTT_PORT);
}

/** A name no other run uses, for topic prefixes, groups and client ids. */
export function testName(): string {
  return `hqmt-${randomUUID().slice(0, 8)}`;
}

/** A plain MQTT v5 client, as a device would use (no OpenHQM code). */
export function deviceClient(): Promise<MqttClient> {
  return connectAsync(`mqtt://${MQTT_HOST}:${MQTT_PORT}`, { protocolVersion: 5, clientId: `${testName()}-device` }, false);
}

/** Clears a retained message a test left (an empty retained publish deletes it). */
export async function clearRetained(topic: string): Promise<void> {
  const client = await deviceClient();
  try {
    await client.publishAsync(topic, '', { qos: 1, retain: true });
  } finally {
    await client.endAsync();
  }
}

/**
 * Ends a persistent session a test created (a bridge's): connecting with its client id and a
 * clean start drops it, with whatever it still held.
 */
export async function dropSession(clientId: string): Promise<void> {
  const client = await connectAsync(`mqtt://${MQTT_HOST}:${MQTT_PORT}`, { protocolVersion: 5, clientId, clean: true, properties: { sessionExpiryInterval: 0 } }, false);
  await client.endAsync();
}

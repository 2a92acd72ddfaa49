/**
 * A queue message on MQTT: the body as the payload, the rest as MQTT v5 user properties, so an
 * outside MQTT client's bare JSON is a message too (it gets an id and a time when it arrives).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IPublishPacket } from 'mqtt';

export interface WireMessage {
  readonly body: string;
  readonly id: string;
  readonly enqueuedAt: number;
  /** Deliveries so far, carried through a retry's republish. */
  readonly count: number;
  readonly priority: number;
  readonly partitionKey: string | null;
}

export function propertiesOf(message: WireMessage): Record<string, string> {
  return {
    'hqm-id': message.id,
    'hqm-at': String(message.enqueuedAt),
    'hqm-count': String(message.count),
    'hqm-priority': String(message.priority),
    ...(message.partitionKey === null ? {} : { 'hqm-key': message.partitionKey }),
  };
}

export function messageOf(payload: Buffer, packet: IPublishPacket): WireMessage {
  const props = packet.properties?.userProperties ?? {};
  const read = (key: string): string | undefined => {
    const value = props[key];
    return Array.isArray(value) ? value[0] : value;
  };
  const number = (key: string, fallback: number): number => {
    const n = Number(read(key));
    return Number.isFinite(n) ? n : fallback;
  };
  return {
    body: payload.toString('utf8'),
    id: read('hqm-id') ?? randomUUID(),
    enqueuedAt: number('hqm-at', Date.now()),
    count: number('hqm-count', 1),
    priority: number('hqm-priority', 0),
    partitionKey: read('hqm-key') ?? null,
  };
}

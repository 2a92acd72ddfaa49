/** Correlation ids are RFC 4122 UUIDs; anything else can never name a request. */
import { randomUUID } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function newCorrelationId(): string {
  return randomUUID();
}

export function isCorrelationId(value: string): boolean {
  return value.length === 36 && UUID.test(value);
}

/**
 * What a message carries beside its body, in Kafka record headers, so it survives every
 * republish (retry, release, a delay tier's hop) unchanged: its id, when it was first enqueued,
 * the attempts it has used, its priority; on a tier, when it is due and what is left to wait;
 * in the dead-letter topic, the reason and when. A message of an outside producer has none of
 * them: its id is its first position (`<partition>-<offset>`) and its enqueue time the record's
 * timestamp, written into the headers the first time it is republished.
 *
 * @module
 */
import type { IHeaders } from 'kafkajs';

export const H = {
  id: 'hqm-id',
  enqueuedAt: 'hqm-enqueued-at',
  attempts: 'hqm-attempts',
  priority: 'hqm-priority',
  notBefore: 'hqm-not-before',
  rest: 'hqm-rest-ms',
  reason: 'hqm-reason',
  deadAt: 'hqm-dead-lettered-at',
} as const;

/** The identity and counters a message keeps across republishing. */
export interface Carried {
  readonly id: string;
  readonly enqueuedAt: number;
  /** Counted deliveries before this one (a delivery's count is this + 1). */
  readonly attempts: number;
  readonly priority: number;
}

export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  const one = Array.isArray(value) ? value[0] : value;
  if (one === undefined) return undefined;
  return typeof one === 'string' ? one : one.toString('utf8');
}

export function headerNumber(headers: IHeaders | undefined, name: string): number | undefined {
  const text = headerText(headers, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** What a record carries; what an outside producer's record lacks comes from where and when it was written. */
export function carriedOf(headers: IHeaders | undefined, at: { partition: number; offset: string; timestamp: string }): Carried {
  return {
    id: headerText(headers, H.id) ?? `${at.partition}-${at.offset}`,
    enqueuedAt: headerNumber(headers, H.enqueuedAt) ?? (Number(at.timestamp) || Date.now()),
    attempts: Math.max(0, Math.trunc(headerNumber(headers, H.attempts) ?? 0)),
    priority: headerNumber(headers, H.priority) ?? 0,
  };
}

export function carriedHeaders(carried: Carried): Record<string, string> {
  return {
    [H.id]: carried.id,
    [H.enqueuedAt]: String(carried.enqueuedAt),
    [H.attempts]: String(carried.attempts),
    [H.priority]: String(carried.priority),
  };
}

/**
 * What OpenHQM writes beside a message's data, as Pub/Sub attributes. A message published by
 * another producer carries none of them: it is priority 0, without a key, due at once.
 *
 * @module
 */
import { clampPriority } from '../../shared/messages.js';

export const A = {
  priority: 'hqm_priority',
  key: 'hqm_key',
  /** Epoch ms before which the message is not handed out (a delayed publish). */
  due: 'hqm_due',
  reason: 'hqm_reason',
  attempts: 'hqm_attempts',
  deadAt: 'hqm_dead_at',
  messageId: 'hqm_message_id',
} as const;

/**
 * The ordering key of a message without a partition key on an ordered subscription: one of its
 * own. The emulator orders messages without a key as if they shared one (verified: one held or
 * delayed message then blocked all others), and a key of its own costs nothing on the service.
 */
export const UNKEYED = '~hqm-free-';

/** The partition key of a pulled message: OpenHQM's attribute, else an outside producer's ordering key. */
export function partitionKeyOf(attributes: Readonly<Record<string, string>>, orderingKey: string): string | null {
  const key = attributes[A.key];
  if (key !== undefined) return key;
  return orderingKey === '' || orderingKey.startsWith(UNKEYED) ? null : orderingKey;
}

export function messageAttributes(priority: number, partitionKey: string | null, due: number): Record<string, string> {
  return {
    ...(priority !== 0 ? { [A.priority]: String(priority) } : {}),
    ...(partitionKey !== null ? { [A.key]: partitionKey } : {}),
    ...(due > 0 ? { [A.due]: String(due) } : {}),
  };
}

export function numberOf(attributes: Readonly<Record<string, string>>, name: string): number {
  const value = Number(attributes[name] ?? '');
  return Number.isFinite(value) ? value : 0;
}

export function priorityOf(attributes: Readonly<Record<string, string>>): number {
  return clampPriority(numberOf(attributes, A.priority));
}

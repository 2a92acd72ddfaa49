/**
 * How an OpenHQM message travels in SQS (D243): the body as it is, so outside producers send
 * plain JSON, and identity in message attributes. A message without them (an outside producer's)
 * is adopted: its SQS MessageId and SentTimestamp stand in.
 *
 * @module
 */
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';

export interface Identity {
  readonly id: string;
  readonly enqueuedAt: number;
  readonly priority: number;
  readonly partitionKey: string | null;
}

export interface Burial {
  readonly reason: string;
  readonly attempts: number;
  readonly deadLetteredAt: number;
  /** Orders dead letters dated the same millisecond (D245). */
  readonly sequence: number;
}

export function identityAttributes(identity: Identity): Record<string, MessageAttributeValue> {
  return {
    'hqm-id': { DataType: 'String', StringValue: identity.id },
    'hqm-enqueued': { DataType: 'Number', StringValue: String(identity.enqueuedAt) },
    'hqm-priority': { DataType: 'Number', StringValue: String(identity.priority) },
    ...(identity.partitionKey === null ? {} : { 'hqm-key': { DataType: 'String', StringValue: identity.partitionKey } }),
  };
}

export function burialAttributes(burial: Burial): Record<string, MessageAttributeValue> {
  return {
    // SQS refuses an empty string value.
    'hqm-reason': { DataType: 'String', StringValue: burial.reason === '' ? ' ' : burial.reason.slice(0, 4096) },
    'hqm-attempts': { DataType: 'Number', StringValue: String(burial.attempts) },
    'hqm-dead-at': { DataType: 'Number', StringValue: String(burial.deadLetteredAt) },
    'hqm-dead-seq': { DataType: 'Number', StringValue: String(burial.sequence) },
  };
}

export function identityOf(message: Message): Identity {
  const sent = Number(message.Attributes?.SentTimestamp);
  const ours = text(message, 'hqm-id') !== undefined;
  // An outside producer's FIFO message group is its key; ours carry the key (a keyless one's group is random).
  const key = text(message, 'hqm-key') ?? (ours ? undefined : message.Attributes?.MessageGroupId) ?? null;
  return {
    id: text(message, 'hqm-id') ?? message.MessageId ?? '',
    enqueuedAt: number(message, 'hqm-enqueued') ?? (Number.isFinite(sent) ? sent : Date.now()),
    priority: number(message, 'hqm-priority') ?? 0,
    partitionKey: key,
  };
}

/** The burial of a dead letter; one SQS moved by its redrive policy has none of ours. */
export function burialOf(message: Message, redriveReason: string): Burial {
  const sent = Number(message.Attributes?.SentTimestamp);
  const at = number(message, 'hqm-dead-at') ?? (Number.isFinite(sent) ? sent : 0);
  return {
    reason: text(message, 'hqm-reason')?.trim() ?? redriveReason,
    attempts: number(message, 'hqm-attempts') ?? Number(message.Attributes?.ApproximateReceiveCount ?? 0),
    deadLetteredAt: at,
    sequence: number(message, 'hqm-dead-seq') ?? at * 1000,
  };
}

export function receiveCount(message: Message): number {
  const count = Number(message.Attributes?.ApproximateReceiveCount);
  return Number.isFinite(count) && count >= 1 ? count : 1;
}

function text(message: Message, name: string): string | undefined {
  return message.MessageAttributes?.[name]?.StringValue;
}

function number(message: Message, name: string): number | undefined {
  const raw = message.MessageAttributes?.[name]?.StringValue;
  const value = raw === undefined ? Number.NaN : Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * How a message travels on the broker (D223): the body as raw bytes, and what OpenHQM knows about
 * it in `x-hqm-*` headers, so every copy the adapter makes of it (a retry, a release, a hop
 * through a delay tier, a parked copy) carries the same identity:
 *
 * - `x-hqm-id`, `x-hqm-at`: the message id and when it was first published (epoch ms);
 * - `x-hqm-count`: the deliveries counted before this copy (retries add one, releases none); the
 *   broker adds its own `x-delivery-count` when it requeues (a session lost, a hand-back);
 * - `x-hqm-priority`, `x-hqm-key`: priority and partition key;
 * - `x-hqm-due`: when the message may be handed to a worker (epoch ms), while it waits in tiers;
 * - `hqm-to`: the band queue a tier dead-letters it back to (not `x-`: a headers exchange ignores
 *   those when it matches).
 *
 * A message an outside producer wrote has none of these; it is taken as it is when it carries an
 * AMQP message id and timestamp, else adopted (see consumer.ts).
 *
 * @module
 */
import type { AsyncMessage } from 'rabbitmq-client';

export interface WireMessage {
  readonly body: Buffer;
  readonly id: string;
  readonly enqueuedAt: number;
  /** Deliveries counted before this copy. */
  readonly count: number;
  readonly priority: number;
  readonly partitionKey: string | null;
  /** Epoch ms before which it is not handed out; 0: due now. */
  readonly due: number;
}

export const H = {
  id: 'x-hqm-id',
  at: 'x-hqm-at',
  count: 'x-hqm-count',
  priority: 'x-hqm-priority',
  key: 'x-hqm-key',
  due: 'x-hqm-due',
  to: 'hqm-to',
} as const;

export function headersOf(message: WireMessage, to: string): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    [H.id]: message.id,
    [H.at]: message.enqueuedAt,
    [H.count]: message.count,
    [H.priority]: message.priority,
    [H.to]: to,
  };
  if (message.partitionKey !== null) headers[H.key] = message.partitionKey;
  if (message.due > 0) headers[H.due] = message.due;
  return headers;
}

/** The body as bytes, whatever rabbitmq-client decoded it into (it parses text/plain and application/json). */
export function bodyOf(raw: AsyncMessage): Buffer {
  const body: unknown = raw.body;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body) ?? '', 'utf8');
}

/**
 * What a delivery says about its message: `undefined` when it carries no identity that stays the
 * same across its redeliveries (an outside producer's message without message id or timestamp).
 */
export function readWire(raw: AsyncMessage): { message: WireMessage; redeliveries: number } | undefined {
  const headers = (raw.headers ?? {}) as Record<string, unknown>;
  const id = text(headers[H.id]) ?? (raw.messageId === undefined || raw.messageId === '' ? undefined : raw.messageId);
  const at = numeric(headers[H.at]) ?? (raw.timestamp === undefined || raw.timestamp === 0 ? undefined : raw.timestamp * 1000);
  if (id === undefined || at === undefined) return undefined;
  return {
    message: {
      body: bodyOf(raw),
      id,
      enqueuedAt: at,
      count: Math.max(1, numeric(headers[H.count]) ?? 1),
      priority: numeric(headers[H.priority]) ?? 0,
      partitionKey: text(headers[H.key]) ?? null,
      due: numeric(headers[H.due]) ?? 0,
    },
    // Quorum queues count the times they gave the message back (a lost session, a nack).
    redeliveries: Math.max(0, numeric(headers['x-delivery-count']) ?? 0),
  };
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}

function numeric(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

/**
 * Webhooks in the terms of the domain: which terminal status is which event, where a request's
 * webhook goes, the id a delivery keeps across its retries, and the queue message that carries
 * one delivery. Pure: the enqueuer and the delivery consumer (src/webhooks) do the I/O.
 *
 * @module
 */
import { HqmError } from '../errors.js';
import type { Status } from '../request/lifecycle.js';

export const WEBHOOK_EVENTS = {
  COMPLETED: 'request.completed',
  FAILED: 'request.failed',
  TIMEOUT: 'request.timeout',
  CANCELLED: 'request.cancelled',
} as const satisfies Partial<Record<Status, string>>;

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[keyof typeof WEBHOOK_EVENTS];

export const WEBHOOK_EVENT_NAMES: readonly WebhookEvent[] = Object.values(WEBHOOK_EVENTS);

/** The event a terminal status announces; undefined for the statuses on the way. */
export function webhookEventOf(status: Status): WebhookEvent | undefined {
  return (WEBHOOK_EVENTS as Partial<Record<Status, WebhookEvent>>)[status];
}

export function isWebhookEvent(value: unknown): value is WebhookEvent {
  return typeof value === 'string' && (WEBHOOK_EVENT_NAMES as readonly string[]).includes(value);
}

/**
 * The Standard Webhooks message id of one terminal transition: derived, not random, so every
 * process that enqueues the same transition (the worker that applied it, a redelivery that found
 * it applied) names it alike and a receiver de-duplicating by `webhook-id` sees one message. The
 * instant the record ended (its `updatedAt`, written by that one transition) is part of it, not
 * the attempt: a dead letter replayed by an operator starts again at attempt 1, and when it ends
 * again, at whatever attempt, that is a new message.
 */
export function webhookIdFor(correlationId: string, event: WebhookEvent, endedAt: number): string {
  return `msg_${correlationId.replaceAll('-', '')}_${event.slice('request.'.length)}_${endedAt.toString(36)}`;
}

/** The metadata keys that choose a request's webhook (as the client sent them, validated at submit). */
export interface CallbackChoice {
  readonly callback_url?: unknown;
  readonly callback_events?: unknown;
}

/**
 * Where the webhook of `event` goes: the request's own `callback_url`, else the deployment's
 * default; null when there is none or the request's `callback_events` leaves this event out.
 */
export function webhookTarget(metadata: CallbackChoice, defaultUrl: string | null, event: WebhookEvent): string | null {
  const url = typeof metadata.callback_url === 'string' && metadata.callback_url !== '' ? metadata.callback_url : defaultUrl;
  if (url === null) return null;
  const chosen = metadata.callback_events;
  if (Array.isArray(chosen) && !chosen.includes(event)) return null;
  return url;
}

/** One webhook delivery, as queued on the webhook queue. `body` is signed and sent byte for byte. */
export interface WebhookMessage {
  readonly v: 1;
  readonly kind: 'webhook';
  readonly webhook_id: string;
  readonly correlation_id: string;
  readonly event: WebhookEvent;
  readonly url: string;
  readonly body: string;
  readonly tenant: string | null;
  /** When the terminal transition was enqueued (epoch ms). */
  readonly created_at: number;
  /**
   * The trace context the delivery continues (the attempt that ended the request, or the
   * request's own); absent from messages queued before it was added (still version 1).
   */
  readonly traceparent?: string | null;
  /**
   * Which attempt this message is, from 1 (absent only on messages queued by an earlier
   * version, taken as 1). A retry is a new message carrying the next number: the count of
   * attempts travels with the delivery, not in the broker's `deliveryCount`, which some brokers
   * raise on every hand-back and others never (D177). An operator's redelivery starts again at 1.
   */
  readonly attempt?: number;
  /** Not to be attempted before this time (epoch ms): a retry's backoff, kept by the message when the queue cannot delay it that long. */
  readonly due_at?: number;
}

/** The attempt a message carries (1 when it names none). */
export function webhookAttemptOf(message: WebhookMessage): number {
  return message.attempt ?? 1;
}

/** The message of the attempt after `message`, due at `dueAt`. */
export function nextWebhookAttempt(message: WebhookMessage, dueAt: number): WebhookMessage {
  return { ...message, attempt: webhookAttemptOf(message) + 1, due_at: dueAt };
}

/** The message as first queued: a redelivery's fresh set of attempts, due at once. */
export function firstWebhookAttempt(message: WebhookMessage): WebhookMessage {
  const { due_at: _due, ...first } = message;
  return { ...first, attempt: 1 };
}

export function encodeWebhookMessage(message: WebhookMessage): string {
  return JSON.stringify(message);
}

export function decodeWebhookMessage(raw: string): WebhookMessage {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (cause) {
    throw new HqmError('HQM_ERR_MESSAGE_INVALID', 'webhook message is not JSON', { cause });
  }
  const m = value as Partial<Record<keyof WebhookMessage, unknown>> | null;
  const valid =
    typeof m === 'object' && m !== null && m.v === 1 && m.kind === 'webhook' && typeof m.webhook_id === 'string' && typeof m.correlation_id === 'string' &&
    isWebhookEvent(m.event) && typeof m.url === 'string' && typeof m.body === 'string' && (m.tenant === null || typeof m.tenant === 'string') && typeof m.created_at === 'number' &&
    (m.attempt === undefined || (Number.isSafeInteger(m.attempt) && (m.attempt as number) >= 1)) && (m.due_at === undefined || Number.isFinite(m.due_at));
  if (!valid) throw new HqmError('HQM_ERR_MESSAGE_INVALID', 'not a webhook message of version 1');
  const message = value as WebhookMessage;
  // Only a string is a context; anything else reads as none.
  return typeof message.traceparent === 'string' || message.traceparent === undefined ? message : { ...message, traceparent: null };
}

/**
 * The body sent: the request's `/response` body with `event` first. Over `maxBytes` the
 * `result` and `headers` are left out and `result_omitted: true` says so, so a large result
 * never makes a delivery impossible; the receiver fetches it from `/api/v1/response/{id}`.
 */
export function webhookBody(event: WebhookEvent, view: Readonly<Record<string, unknown>>, maxBytes: number): string {
  const whole = JSON.stringify({ event, ...view });
  if (Buffer.byteLength(whole, 'utf8') <= maxBytes) return whole;
  return JSON.stringify({ event, ...view, result: null, headers: null, result_omitted: true });
}

/**
 * The operator's view of webhooks that failed for good: the webhook queue's dead letters, newest
 * first, a page at a time, and redelivery of one by its webhook id (a new delivery with a fresh
 * set of attempts; the same id and body, so a receiver that got it after all de-duplicates it).
 *
 * Pages are cut from the backend's `deadLetters` (bounded by `queue.dead_letter_max` per queue,
 * D51); the cursor names the last dead letter shown by time and message id, so a page boundary
 * holds while newer dead letters arrive.
 *
 * @module
 */
import { decodeWebhookMessage, type WebhookMessage } from '../core/webhooks/message.js';
import type { DeadLetter, QueueBackend } from '../ports/queue-backend.js';
import type { ResultStore } from '../ports/result-store.js';
import { shownUrl } from './notes.js';

export interface FailedDelivery {
  readonly id: string;
  readonly correlation_id: string;
  readonly event: string;
  readonly url: string;
  readonly tenant: string | null;
  readonly attempts: number;
  readonly reason: string;
  readonly dead_lettered_at: string;
}

export interface FailedPage {
  readonly deliveries: readonly FailedDelivery[];
  /** Pass as `cursor` for the next, older page; null when this page holds the oldest. */
  readonly next_cursor: string | null;
}

export interface WebhookAdminDeps {
  readonly queue: QueueBackend;
  readonly store: ResultStore;
  readonly queueName: string;
  /** Most dead letters read to cut a page from (queue.dead_letter_max). */
  readonly scanLimit: number;
}

/** Newest first, `limit` at a time, after `cursor` (from an earlier page). */
export async function listFailedDeliveries(deps: WebhookAdminDeps, options: { limit: number; cursor?: string }): Promise<FailedPage> {
  const letters = decoded(await deps.queue.deadLetters(deps.queueName, { limit: deps.scanLimit }));
  const start = options.cursor === undefined ? 0 : after(letters, options.cursor);
  const page = letters.slice(start, start + options.limit);
  const last = page.at(-1);
  const more = start + options.limit < letters.length;
  return { deliveries: page.map(present), next_cursor: more && last !== undefined ? cursorOf(last.letter) : null };
}

/** Queues the newest dead letter of `webhookId` again; undefined when there is none. */
export async function redeliver(deps: WebhookAdminDeps, webhookId: string): Promise<WebhookMessage | undefined> {
  const found = decoded(await deps.queue.deadLetters(deps.queueName, { limit: deps.scanLimit })).find((d) => d.message.webhook_id === webhookId);
  if (found === undefined) return undefined;
  await deps.queue.publish(deps.queueName, { body: found.letter.body });
  // The request may have expired; the redelivery goes out regardless.
  await deps.store.appendNote(found.message.correlation_id, { kind: 'webhook', detail: { webhook_id: webhookId, event: found.message.event, state: 'redelivered' } });
  return found.message;
}

interface Decoded {
  readonly letter: DeadLetter;
  readonly message: WebhookMessage;
}

/** Dead letters that are webhook messages (an undecodable one cannot be redelivered, and names no request). */
function decoded(letters: readonly DeadLetter[]): Decoded[] {
  return letters.flatMap((letter) => {
    try {
      return [{ letter, message: decodeWebhookMessage(letter.body) }];
    } catch {
      return [];
    }
  });
}

function cursorOf(letter: DeadLetter): string {
  return Buffer.from(`${letter.deadLetteredAt}:${letter.messageId}`, 'utf8').toString('base64url');
}

/** Index of the first dead letter after the cursor's; a cursor whose letter is gone resumes by its time. */
function after(letters: readonly Decoded[], cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const colon = text.indexOf(':');
  const at = Number(text.slice(0, colon));
  const messageId = text.slice(colon + 1);
  const exact = letters.findIndex((d) => d.letter.deadLetteredAt === at && d.letter.messageId === messageId);
  if (exact >= 0) return exact + 1;
  const older = letters.findIndex((d) => d.letter.deadLetteredAt < at);
  return older < 0 ? letters.length : older;
}

export function isCursor(text: string): boolean {
  return /^\d+:.+$/.test(Buffer.from(text, 'base64url').toString('utf8'));
}

function present({ letter, message }: Decoded): FailedDelivery {
  return {
    id: message.webhook_id,
    correlation_id: message.correlation_id,
    event: message.event,
    url: shownUrl(message.url),
    tenant: message.tenant,
    attempts: letter.attempts,
    reason: letter.reason,
    dead_lettered_at: new Date(letter.deadLetteredAt).toISOString(),
  };
}

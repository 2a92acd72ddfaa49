/**
 * The operator's view of webhooks that failed for good: the webhook queue's dead letters, newest
 * first, a page at a time, and redelivery of one by its webhook id (a new delivery with a fresh
 * set of attempts; the same id and body, so a receiver that got it after all de-duplicates it).
 *
 * Pages come from the backend's dead-letter browsing (bounded by `queue.dead_letter_max` per
 * queue, D51); the cursor is the last dead letter's id, so a page boundary holds while newer dead
 * letters arrive. A redelivered one leaves the list (it is queued again).
 *
 * @module
 */
import { decodeWebhookMessage, encodeWebhookMessage, firstWebhookAttempt, type WebhookMessage } from '../core/webhooks/message.js';
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

/** Newest first, `limit` at a time, older than `cursor` (from an earlier page). */
export async function listFailedDeliveries(deps: WebhookAdminDeps, options: { limit: number; cursor?: string }): Promise<FailedPage> {
  const before = options.cursor === undefined ? undefined : Buffer.from(options.cursor, 'base64url').toString('utf8');
  const page = await deps.queue.browseDeadLetters(deps.queueName, { limit: options.limit, ...(before === undefined ? {} : { before }) });
  return { deliveries: decoded(page.letters).map(present), next_cursor: page.next === null ? null : Buffer.from(page.next, 'utf8').toString('base64url') };
}

/**
 * Queues the newest dead letter of `webhookId` again, taking it off the failed list in the same
 * atomic step (so two concurrent redeliveries send it once); undefined when there is none.
 */
export async function redeliver(deps: WebhookAdminDeps, webhookId: string): Promise<WebhookMessage | undefined> {
  for (let before: string | undefined, scanned = 0; scanned < deps.scanLimit; ) {
    const page = await deps.queue.browseDeadLetters(deps.queueName, { limit: SCAN_PAGE, ...(before === undefined ? {} : { before }) });
    const found = decoded(page.letters).find((d) => d.message.webhook_id === webhookId);
    if (found !== undefined) {
      // As first queued: the attempts start again at 1, due at once (D177).
      const published = await deps.queue.replayDeadLetter(deps.queueName, found.letter.id, { body: encodeWebhookMessage(firstWebhookAttempt(found.message)) });
      if (published === undefined) return undefined; // redelivered or removed meanwhile
      // The request may have expired; the redelivery goes out regardless.
      await deps.store.appendNote(found.message.correlation_id, { kind: 'webhook', detail: { webhook_id: webhookId, event: found.message.event, state: 'redelivered' } });
      return found.message;
    }
    if (page.next === null) return undefined;
    before = page.next;
    scanned += page.letters.length;
  }
  return undefined;
}

/** Dead letters read per round trip while looking for one webhook id. */
const SCAN_PAGE = 100;

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

/** A cursor is a dead letter id this endpoint gave out, base64url-encoded. */
export function isCursor(text: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(text) && Buffer.from(text, 'base64url').toString('utf8').length > 0;
}

function present({ letter, message }: Decoded): FailedDelivery {
  return {
    id: message.webhook_id,
    correlation_id: message.correlation_id,
    event: message.event,
    url: shownUrl(message.url),
    tenant: message.tenant,
    // The attempts the message counted; the broker's count only for a message queued before messages counted them (D177).
    attempts: message.attempt ?? letter.attempts,
    reason: letter.reason,
    dead_lettered_at: new Date(letter.deadLetteredAt).toISOString(),
  };
}

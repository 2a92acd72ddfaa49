/**
 * The webhook lines of a request's trail (`kind: "webhook"` notes, D73): what they say and how
 * they are read back to keep deliveries to one per transition.
 *
 * @module
 */
import type { RequestEvent } from '../core/request/record.js';

/** `queued` when enqueued, `delivered`/`retrying`/`failed` per attempt, `redelivered` by an operator. */
export type WebhookNoteState = 'queued' | 'delivered' | 'retrying' | 'failed' | 'redelivered';

export function hasWebhookNote(trail: readonly RequestEvent[], webhookId: string, state: WebhookNoteState): boolean {
  return trail.some((event) => event.note?.kind === 'webhook' && event.note.detail.webhook_id === webhookId && event.note.detail.state === state);
}

/** A URL as the trail shows it: scheme, host, port and path; a query may hold a token. */
export function shownUrl(text: string): string {
  try {
    const url = new URL(text);
    return `${url.origin}${url.pathname}`;
  } catch {
    return 'the callback URL';
  }
}

/**
 * Turns a request's terminal transition into one queued webhook delivery. Called by the worker
 * whenever it settles the queue message of a request that is terminal — the transition it just
 * applied (`applied`), or one it found applied by someone else (a client's cancel, a read that
 * timed an overdue request out, an earlier delivery of this message that died before settling).
 * The worker settles the message only after this resolves, so a crash in between brings the
 * message back and the transition is enqueued then: every terminal transition gets a delivery.
 *
 * Exactly one: a found transition is enqueued only when the trail has no `queued` note of its
 * webhook id. The one gap left (a crash after the publish, before the note) repeats the same
 * message id and body; the delivery consumer skips an id already delivered, and a receiver that
 * de-duplicates by `webhook-id`, as the specification asks, never sees it twice. See D118.
 *
 * @module
 */
import { isTerminal } from '../core/request/lifecycle.js';
import { validTraceparent } from '../core/trace-context.js';
import type { RequestRecord } from '../core/request/record.js';
import { encodeWebhookMessage, webhookBody, webhookEventOf, webhookIdFor, webhookTarget, type CallbackChoice } from '../core/webhooks/message.js';
import type { Logger } from '../ports/logger.js';
import type { QueueBackend } from '../ports/queue-backend.js';
import type { ResultStore } from '../ports/result-store.js';
import { hasWebhookNote, shownUrl } from './notes.js';

export interface EnqueueSettings {
  /** The webhook queue (`<queue.request_queue_name>.webhooks`). */
  readonly queueName: string;
  /** delivery.webhooks.default_url. */
  readonly defaultUrl: string | null;
  readonly maxBodyBytes: number;
}

export interface EnqueueDeps {
  readonly queue: QueueBackend;
  readonly store: ResultStore;
  /** The `/response` body of a record (api/present.ts's presentResult, injected by the composition root). */
  readonly present: (record: RequestRecord) => Readonly<Record<string, unknown>>;
  readonly logger: Logger;
}

export interface TerminalSeen {
  readonly id: string;
  /** The metadata the request was submitted with. */
  readonly metadata: CallbackChoice;
  readonly tenant: string | null;
  /** The terminal record when at hand; read from the store when null. */
  readonly record: RequestRecord | null;
  /** This process just applied the transition (no one else can have enqueued it). */
  readonly applied: boolean;
  /** The trace context the delivery continues; absent or null: none. */
  readonly traceparent?: string | null;
}

export class WebhookEnqueuer {
  constructor(
    private readonly deps: EnqueueDeps,
    private readonly settings: EnqueueSettings,
  ) {}

  /** Whether a request submitted with `metadata` may have a webhook at all (else onTerminal does nothing for it). */
  readonly wants = (metadata: CallbackChoice): boolean => typeof metadata.callback_url === 'string' || this.settings.defaultUrl !== null;

  /** Enqueues the webhook of a terminal record, if it has one; resolves once it is durable. */
  readonly onTerminal = async (seen: TerminalSeen): Promise<void> => {
    const { store, queue } = this.deps;
    // Most requests have no webhook at all: they cost nothing here, not even a read.
    if (!this.wants(seen.metadata)) return;
    const record = seen.record ?? (await store.get(seen.id));
    if (record === undefined || !isTerminal(record.status)) return;
    const event = webhookEventOf(record.status);
    if (event === undefined) return;
    const url = webhookTarget(seen.metadata, this.settings.defaultUrl, event);
    if (url === null) return;
    const webhookId = webhookIdFor(record.id, event, record.updatedAt);
    if (!seen.applied && hasWebhookNote(await store.events(record.id), webhookId, 'queued')) return;
    const body = webhookBody(event, this.deps.present(record), this.settings.maxBodyBytes);
    const traceparent = validTraceparent(seen.traceparent);
    const message = { v: 1, kind: 'webhook', webhook_id: webhookId, correlation_id: record.id, event, url, body, tenant: seen.tenant, created_at: Date.now(), attempt: 1, ...(traceparent === null ? {} : { traceparent }) } as const;
    await queue.publish(this.settings.queueName, { body: encodeWebhookMessage(message) });
    const noted = await store.appendNote(record.id, { kind: 'webhook', detail: { webhook_id: webhookId, event, state: 'queued', url: shownUrl(url) } });
    if (!noted) this.deps.logger.debug({ correlation_id: record.id, webhook_id: webhookId }, 'webhook queued for a record that expired meanwhile');
  };
}

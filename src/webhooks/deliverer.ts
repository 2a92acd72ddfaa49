/**
 * The webhook consumer of a worker process: takes deliveries from the webhook queue, signs each
 * attempt (a fresh `webhook-timestamp`, the same `webhook-id` and body), posts it, writes the
 * attempt to the request's trail, and settles the queue message — ack when delivered, the next
 * attempt queued on connection errors, timeouts, 5xx and 429 (honouring Retry-After) while
 * attempts are left, the webhook queue's dead letters otherwise. Retries are queue messages, not
 * timers, so a restart mid-backoff loses nothing.
 *
 * The attempt number travels in the message (D177), never in the broker's `deliveryCount`,
 * which is a hint: some brokers count every hand-back (a consumer that stopped, a message
 * delivered before it was due), so they would burn attempts without a call; others count
 * nothing, so a webhook would never give up. A retry therefore publishes the next attempt as a
 * new message carrying its number and due time, then acknowledges this one; a delivery that
 * arrives before its due time (a queue whose delays are shorter than the backoff) is handed
 * back for the rest, uncounted. A crash between that publish and the ack repeats the attempt
 * once, under the same `webhook-id`, which receivers de-duplicate by.
 *
 * States: created → running → stopping → stopped.
 *
 * @module
 */
import { coerceError, isHqmError } from '../core/errors.js';
import { validTraceparent } from '../core/trace-context.js';
import { decodeWebhookMessage, encodeWebhookMessage, nextWebhookAttempt, webhookAttemptOf, type WebhookMessage } from '../core/webhooks/message.js';
import { isRetryableWebhookStatus, parseRetryAfter, webhookRetryDelayMs, type WebhookRetryPolicy } from '../core/webhooks/retry.js';
import type { Logger } from '../ports/logger.js';
import { chainedDelay } from '../ports/queue-capabilities.js';
import type { Delivery, QueueBackend, Subscription } from '../ports/queue-backend.js';
import type { ResultStore } from '../ports/result-store.js';
import type { Tracing } from '../ports/tracing.js';
import type { WebhookAnswer, WebhookSender } from '../ports/webhook-sender.js';
import { hasWebhookNote, type WebhookNoteState } from './notes.js';
import type { WebhookSigner } from './sign.js';

export interface DelivererOptions {
  readonly queueName: string;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly retry: WebhookRetryPolicy;
  readonly visibilityTimeoutMs: number;
  /** Sent as User-Agent. */
  readonly userAgent: string;
}

export interface DelivererDeps {
  readonly queue: QueueBackend;
  readonly store: ResultStore;
  readonly sender: WebhookSender;
  readonly signer: WebhookSigner;
  readonly logger: Logger;
  /** Opens a span per delivery attempt, named in its traceparent header; undefined while tracing is off. */
  readonly tracing?: Tracing;
}

/** One attempt as the trail records it. */
interface AttemptReport {
  readonly state: Exclude<WebhookNoteState, 'queued' | 'redelivered'>;
  readonly status: number | null;
  readonly error: string | null;
  readonly retryInMs?: number;
}

type PoolState = 'created' | 'running' | 'stopping' | 'stopped';

export class WebhookDeliverer {
  #state: PoolState = 'created';
  #subscription: Subscription | undefined;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(
    private readonly deps: DelivererDeps,
    private readonly options: DelivererOptions,
  ) {}

  get state(): PoolState {
    return this.#state;
  }

  start(): void {
    if (this.#state !== 'created') throw new Error(`cannot start a webhook deliverer that is ${this.#state}`);
    this.#state = 'running';
    const { concurrency, queueName } = this.options;
    // An attempt never outlives its timeout, so a visibility of timeout + margin needs no heartbeat.
    const visibilityTimeoutMs = Math.max(this.options.visibilityTimeoutMs, this.options.timeoutMs + 5000);
    this.#subscription = this.deps.queue.consume(queueName, { concurrency, visibilityTimeoutMs }, this.#handle);
    this.deps.logger.info({ queue: queueName, concurrency }, 'webhook deliverer started');
  }

  /** Stops taking deliveries and waits for the attempts in flight (each bounded by its timeout). Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === 'created' || this.#state === 'stopped') {
      this.#state = 'stopped';
      return;
    }
    if (this.#state === 'running') {
      this.#state = 'stopping';
      await this.#subscription?.stop();
    }
    await Promise.all([...this.#inFlight]);
    this.#state = 'stopped';
  }

  readonly #handle = async (delivery: Delivery): Promise<void> => {
    const work = this.#deliver(delivery).catch((error: unknown) => {
      // The store or the queue failed: the message comes back when its visibility lapses.
      this.deps.logger.error({ err: error, message_id: delivery.messageId }, 'webhook delivery could not be settled; it will be redelivered');
    });
    this.#inFlight.add(work);
    try {
      await work;
    } finally {
      this.#inFlight.delete(work);
    }
  };

  async #deliver(delivery: Delivery): Promise<void> {
    let message: WebhookMessage;
    try {
      message = decodeWebhookMessage(delivery.body);
    } catch (error) {
      this.deps.logger.error({ err: error, message_id: delivery.messageId }, 'undecodable webhook message: dead-lettered');
      await delivery.deadLetter(coerceError(error).message);
      return;
    }
    const attempt = webhookAttemptOf(message);
    const log = this.deps.logger.child({ correlation_id: message.correlation_id, webhook_id: message.webhook_id, attempt, delivery_count: delivery.deliveryCount });
    const early = message.due_at === undefined ? 0 : message.due_at - Date.now();
    if (early > 0) {
      // Its backoff is longer than the queue could delay it: back for the rest, uncounted.
      await delivery.release(chainedDelay(this.deps.queue.capabilities, early));
      return;
    }
    if (hasWebhookNote(await this.deps.store.events(message.correlation_id), message.webhook_id, 'delivered')) {
      log.info({}, 'webhook already delivered: a repeated message is dropped');
      await delivery.ack();
      return;
    }
    const parent = validTraceparent(message.traceparent);
    const span = this.deps.tracing?.webhook({ url: message.url, event: message.event, webhookId: message.webhook_id, attempt, parent });
    const traced = span === undefined ? log : log.child({ trace_id: span.traceId, span_id: span.spanId });
    const started = performance.now();
    const report = await this.#attempt(message, attempt, span?.traceparent ?? parent);
    const latencyMs = Math.round(performance.now() - started);
    span?.end(report.status === null ? { error: new Error(report.error ?? 'no answer') } : { status: report.status });
    await this.deps.store
      .appendNote(message.correlation_id, {
        kind: 'webhook',
        detail: { webhook_id: message.webhook_id, event: message.event, state: report.state, attempt, status: report.status, latency_ms: latencyMs, error: report.error, ...(report.retryInMs === undefined ? {} : { retry_in_ms: report.retryInMs }) },
      })
      .catch((error: unknown) => traced.warn({ err: error }, 'webhook attempt could not be recorded in the trail'));
    switch (report.state) {
      case 'delivered':
        traced.debug({ status: report.status, latency_ms: latencyMs }, 'webhook delivered');
        return delivery.ack();
      case 'retrying': {
        traced.info({ status: report.status, error: report.error, retry_in_ms: report.retryInMs }, 'webhook attempt failed; will retry');
        const waitMs = report.retryInMs ?? 0;
        const next = nextWebhookAttempt(message, Date.now() + waitMs);
        // Queued before this one is acknowledged: a crash in between repeats an attempt, never loses one.
        await this.deps.queue.publish(this.options.queueName, { body: encodeWebhookMessage(next), delayMs: chainedDelay(this.deps.queue.capabilities, waitMs) });
        return delivery.ack();
      }
      case 'failed':
        traced.warn({ status: report.status, error: report.error }, 'webhook failed for good: dead-lettered');
        return delivery.deadLetter(report.error ?? `the receiver answered ${report.status ?? 'nothing'}`);
    }
  }

  /** `traceparent`: sent as the header of that name, so the receiver's spans join the request's trace. */
  async #attempt(message: WebhookMessage, attempt: number, traceparent: string | null): Promise<AttemptReport> {
    const headers = {
      'content-type': 'application/json',
      'user-agent': this.options.userAgent,
      ...(traceparent === null ? {} : { traceparent }),
      ...this.deps.signer.sign(message.webhook_id, new Date(), message.body),
    };
    let answer: WebhookAnswer;
    try {
      answer = await this.deps.sender.post({ url: message.url, headers, body: message.body, timeoutMs: this.options.timeoutMs });
    } catch (thrown) {
      const error = coerceError(thrown);
      const retryable = !isHqmError(error) || error.retryable;
      return this.#verdict(attempt, retryable, null, error.message, null);
    }
    if (answer.status >= 200 && answer.status < 300) return { state: 'delivered', status: answer.status, error: null };
    const retryable = isRetryableWebhookStatus(answer.status);
    return this.#verdict(attempt, retryable, answer.status, `the receiver answered ${answer.status}`, parseRetryAfter(answer.retryAfter));
  }

  #verdict(attempt: number, retryable: boolean, status: number | null, error: string, retryAfterMs: number | null): AttemptReport {
    if (!retryable) return { state: 'failed', status, error };
    if (attempt >= this.options.retry.maxAttempts) return { state: 'failed', status, error: `${error} (after ${attempt} attempts)` };
    return { state: 'retrying', status, error, retryInMs: webhookRetryDelayMs(this.options.retry, attempt, retryAfterMs) };
  }
}

/**
 * Webhooks in a running process (delivery.webhooks): the enqueuer the worker pool calls on
 * terminal records, the deliverer that consumes the webhook queue, and what the API needs to
 * check callbacks and list failed deliveries. Off (nothing created, callback URLs refused at
 * submit) while no signing secret is configured.
 *
 * @module
 */
import { createWebhookSender } from '../adapters/http/undici/webhook-sender.js';
import type { WebhookApiOptions } from '../api/context.js';
import { presentResult } from '../api/present.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ports/logger.js';
import type { QueueBackend } from '../ports/queue-backend.js';
import type { ResultStore } from '../ports/result-store.js';
import type { Tracing } from '../ports/tracing.js';
import type { WebhookSender } from '../ports/webhook-sender.js';
import { mayConnect, type AddressPolicy } from '../webhooks/address-policy.js';
import { WebhookDeliverer } from '../webhooks/deliverer.js';
import { WebhookEnqueuer } from '../webhooks/enqueue.js';
import { WebhookSigner } from '../webhooks/sign.js';
import { webhookQueueName } from '../core/queues.js';
import { VERSION } from './version.js';

/** The webhook queue: named after the request queue, so deployments sharing a backend keep theirs apart. */
export function webhookQueue(config: Config): string {
  return webhookQueueName(config.queue.request_queue_name);
}

function addressPolicy(config: Config): AddressPolicy {
  const w = config.delivery.webhooks;
  return { allowPrivate: w.allow_private, allowedHosts: w.allowed_hosts };
}

export function webhookApiOptions(config: Config): WebhookApiOptions {
  return { enabled: config.delivery.webhooks.secret.length > 0, policy: addressPolicy(config), queueName: webhookQueue(config), scanLimit: config.queue.dead_letter_max };
}

export interface Webhooks {
  readonly enqueuer: WebhookEnqueuer;
  readonly deliverer: WebhookDeliverer;
  readonly sender: WebhookSender;
}

/** The worker side of webhooks; undefined while they are off. */
export async function createWebhooks(config: Config, deps: { queue: QueueBackend; store: ResultStore; logger: Logger; tracing?: Tracing | undefined }): Promise<Webhooks | undefined> {
  const w = config.delivery.webhooks;
  if (w.secret.length === 0) return undefined;
  const queueName = webhookQueue(config);
  const logger = deps.logger.child({ component: 'webhooks' });
  const sender = await createWebhookSender({ mayConnect: mayConnect(addressPolicy(config)), maxConnections: Math.max(1, w.concurrency) });
  const enqueuer = new WebhookEnqueuer({ queue: deps.queue, store: deps.store, present: presentResult, logger }, { queueName, defaultUrl: w.default_url, maxBodyBytes: w.max_body_bytes });
  const deliverer = new WebhookDeliverer(
    { queue: deps.queue, store: deps.store, sender, signer: new WebhookSigner(w.secret), logger, tracing: deps.tracing },
    {
      queueName,
      concurrency: w.concurrency,
      timeoutMs: w.timeout_seconds * 1000,
      retry: { maxAttempts: w.max_attempts, baseMs: w.retry_base_seconds * 1000, maxMs: w.retry_max_seconds * 1000 },
      visibilityTimeoutMs: config.queue.visibility_timeout_seconds * 1000,
      userAgent: `OpenHQM-Webhooks/${VERSION}`,
    },
  );
  return { enqueuer, deliverer, sender };
}

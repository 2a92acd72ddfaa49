/**
 * What a submit may say about its webhook (`metadata.callback_url`, `metadata.callback_events`),
 * checked before anything is stored: a 422 naming the field, never a delivery that could only
 * fail later.
 *
 * @module
 */
import type { FieldIssue } from '../core/errors.js';
import { WEBHOOK_EVENT_NAMES, isWebhookEvent } from '../core/webhooks/message.js';
import { callbackUrlProblem, type AddressPolicy } from './address-policy.js';

export interface CallbackRules {
  /** A signing secret is configured: without one no webhook is ever sent. */
  readonly enabled: boolean;
  readonly policy: AddressPolicy;
}

export function callbackIssues(metadata: Readonly<Record<string, unknown>> | null | undefined, rules: CallbackRules): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (metadata === null || metadata === undefined) return issues;
  const { callback_url: url, callback_events: events } = metadata;
  if (!rules.enabled && (typeof url === 'string' || events !== undefined)) {
    const field = typeof url === 'string' ? 'callback_url' : 'callback_events';
    issues.push({ path: `body.metadata.${field}`, message: 'webhooks are not configured on this server (delivery.webhooks.secret): nothing could be sent' });
    return issues;
  }
  if (typeof url === 'string') {
    const problem = callbackUrlProblem(url, rules.policy);
    if (problem !== undefined) issues.push({ path: 'body.metadata.callback_url', message: problem });
  }
  if (events !== undefined && events !== null) {
    const valid = Array.isArray(events) && events.length > 0 && events.every(isWebhookEvent) && new Set(events).size === events.length;
    if (!valid) issues.push({ path: 'body.metadata.callback_events', message: `must be a non-empty list of distinct events out of ${WEBHOOK_EVENT_NAMES.join(', ')}` });
  }
  return issues;
}

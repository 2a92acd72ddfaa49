/**
 * When a webhook is tried again. Exponential backoff (base · 2^(attempt-1), capped) with the top
 * fifth jittered away, so a receiver that comes back is not hit by every delivery in the same
 * second, while the schedule's total span stays predictable (at least 80 % of the nominal one).
 * A receiver's `Retry-After` (429, 503) is honoured when it asks for longer.
 *
 * @module
 */

export interface WebhookRetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  readonly baseMs: number;
  readonly maxMs: number;
}

/** A Retry-After beyond this is taken as this: a receiver cannot park a delivery for weeks. */
export const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;

/** Delay before the attempt after `attempt` (1-based). `random` is injectable for tests. */
export function webhookRetryDelayMs(policy: WebhookRetryPolicy, attempt: number, retryAfterMs: number | null = null, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 52);
  const nominal = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  const jittered = Math.floor(nominal * (1 - 0.2 * random()));
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
}

/** The nominal delays of a whole schedule (no jitter): what docs/webhooks.md tabulates. */
export function webhookSchedule(policy: WebhookRetryPolicy): number[] {
  return Array.from({ length: Math.max(0, policy.maxAttempts - 1) }, (_, i) => webhookRetryDelayMs(policy, i + 1, null, () => 0));
}

/** Connection errors and timeouts are retried; of the answers, 5xx and 429 only. */
export function isRetryableWebhookStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** `Retry-After` in milliseconds from `now`: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  if (value === null || value === undefined) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

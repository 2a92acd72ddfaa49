/**
 * Delayed requests: `metadata.delay` (seconds from now) or `metadata.run_at` (an ISO 8601 time
 * with its offset) keep a request PENDING until then (D100). The queue holds the message back
 * (OutboundMessage.delayMs); the record keeps the due time (`runAt`), and the deadline
 * (metadata.timeout) counts from it.
 *
 * @module
 */
import { z } from 'zod';
import type { FieldIssue } from '../core/errors.js';
import type { QueueBackend } from '../ports/queue-backend.js';

/** Furthest ahead a request may be delayed when `api.max_delay_seconds` is not given. */
export const DEFAULT_MAX_DELAY_SECONDS = 30 * 24 * 3600;

// RFC 3339 as zod checks it: a real calendar date and an explicit offset (Z or ±hh:mm), so a
// time is never read in whatever zone the server happens to run in.
const isoWithOffset = z.iso.datetime({ offset: true });

export interface DelayRules {
  readonly maxDelaySeconds: number;
  /** The backend that would have to hold the message back. */
  readonly queue: Pick<QueueBackend, 'type' | 'capabilities'>;
}

/**
 * The problems with a submit body's delay, named by field (`body.metadata.delay`,
 * `body.metadata.run_at`). Fields of the wrong type are left to the JSON Schema.
 */
export function delayIssues(body: unknown, now: number, rules: DelayRules): FieldIssue[] {
  const metadata = isPlainObject(body) && isPlainObject(body.metadata) ? body.metadata : undefined;
  if (metadata === undefined) return [];
  const { delay, run_at: runAt } = metadata;
  const max = rules.maxDelaySeconds;
  const issues: FieldIssue[] = [];
  if (delay !== undefined && delay !== null && runAt !== undefined && runAt !== null) {
    return [{ path: 'body.metadata.run_at', message: 'give metadata.delay or metadata.run_at, not both' }];
  }
  let delayed = false;
  if (typeof delay === 'number') {
    if (!(Number.isFinite(delay) && delay >= 0 && delay <= max)) issues.push({ path: 'body.metadata.delay', message: `must be a number of seconds from 0 to ${max} (api.max_delay_seconds)` });
    else delayed = delay > 0;
  }
  if (typeof runAt === 'string') {
    if (!isoWithOffset.safeParse(runAt).success) {
      issues.push({ path: 'body.metadata.run_at', message: 'must be an ISO 8601 date-time with its offset, such as 2030-01-31T09:00:00Z or 2030-01-31T10:00:00+01:00' });
    } else if (Date.parse(runAt) - now > max * 1000) {
      issues.push({ path: 'body.metadata.run_at', message: `must be at most ${max} seconds ahead (api.max_delay_seconds)` });
    } else delayed = Date.parse(runAt) > now;
  }
  if (delayed && !rules.queue.capabilities.delay) {
    const field = typeof delay === 'number' ? 'delay' : 'run_at';
    issues.push({ path: `body.metadata.${field}`, message: `the ${rules.queue.type} queue backend cannot delay messages; submit without metadata.${field}` });
  }
  return issues;
}

/**
 * When a request whose metadata passed `delayIssues` becomes due (epoch ms), or null when it is
 * not delayed: no delay, a delay of 0, or a run_at that has already passed (it runs at once).
 */
export function requestedRunAt(metadata: Readonly<Record<string, unknown>>, now: number): number | null {
  const { delay, run_at: runAt } = metadata;
  if (typeof delay === 'number' && Number.isFinite(delay) && delay > 0) return now + Math.ceil(delay * 1000);
  if (typeof runAt === 'string') {
    const at = Date.parse(runAt);
    return Number.isNaN(at) || at <= now ? null : at;
  }
  return null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

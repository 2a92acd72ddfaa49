/**
 * Reading a queue backend's capability values (ports/queue-backend.ts, D132): the checks the
 * start-up applies to the configuration, and how a delay longer than the backend can carry is
 * chained rather than shortened. Pure.
 *
 * @module
 */
import type { QueueCapabilityValues } from './queue-backend.js';

/** The part of the configuration the queue's capability values can refuse. */
export interface QueueNeeds {
  /** queue.visibility_timeout_seconds, in ms: the lease the worker asks for and renews. */
  readonly visibilityTimeoutMs: number;
  /** The longest retry backoff the worker may ask for (worker.retry_delay_max, per queue too), in ms. */
  readonly longestRetryDelayMs: number;
  /** Whether this process runs workers (the lease and redelivery matter to them only). */
  readonly worker: boolean;
}

export interface CapabilityIssue {
  readonly path: string;
  readonly message: string;
}

/** What the configuration asks that `values` cannot do; empty when it fits. */
export function queueCapabilityIssues(type: string, values: QueueCapabilityValues, needs: QueueNeeds): CapabilityIssue[] {
  const issues: CapabilityIssue[] = [];
  const { lease } = values;
  if (needs.worker && lease !== null && (needs.visibilityTimeoutMs < lease.minMs || needs.visibilityTimeoutMs > lease.maxMs)) {
    issues.push({
      path: 'queue.visibility_timeout_seconds',
      message: `the ${type} queue holds a message for ${lease.minMs / 1000}–${lease.maxMs / 1000} s; ${needs.visibilityTimeoutMs / 1000} s is outside that range`,
    });
  }
  // An at-most-once backend declares the loss itself and was created only with the opt-in that accepts it (D274).
  if (needs.worker && values.redelivery === 'none' && values.delivery !== 'at-most-once') {
    issues.push({ path: 'queue.type', message: `the ${type} queue never redelivers an unsettled message, so a worker that dies would lose its requests; choose a backend with leases or sessions` });
  }
  // Retries wait in the store (PENDING) as long as they asked: a backoff longer than the backend's
  // longest delay would come back early, and a retry does not carry a due time to chain on.
  if (values.delays !== null && needs.longestRetryDelayMs > values.delays.maxMs) {
    issues.push({
      path: 'worker.retry_delay_max',
      message: `the ${type} queue delays a message by at most ${values.delays.maxMs / 1000} s; lower the retry backoff's maximum to that`,
    });
  }
  return issues;
}

/**
 * The delay to give the backend for a message due `delayMs` from now: all of it when the
 * backend can carry it, else its longest, rounded to its step. The message must carry its due
 * time (an envelope's `run_at`) so the worker hands an early delivery back for the rest: a
 * long delay is a chain of the backend's longest ones, never silently shortened.
 */
export function chainedDelay(values: Pick<QueueCapabilityValues, 'delays'>, delayMs: number): number {
  if (values.delays === null || delayMs <= 0) return 0;
  const { maxMs, granularityMs } = values.delays;
  if (delayMs <= maxMs) return delayMs;
  return Math.max(granularityMs, Math.floor(maxMs / granularityMs) * granularityMs);
}

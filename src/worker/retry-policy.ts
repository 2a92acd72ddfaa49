/**
 * When to try again: exponential backoff with full jitter (a random delay between 0 and
 * min(max, base · 2^(attempt-1))), which spreads a burst of failures out instead of
 * retrying them in lock-step.
 *
 * @module
 */
export interface RetryPolicy {
  /** Attempts in all, the first included (max_retries + 1). */
  readonly maxAttempts: number;
  readonly baseMs: number;
  readonly maxMs: number;
}

/** Delay before the attempt after `attempt` (1-based). `random` is injectable for tests. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 52);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}

export function hasAttemptsLeft(policy: RetryPolicy, attempt: number): boolean {
  return attempt < policy.maxAttempts;
}

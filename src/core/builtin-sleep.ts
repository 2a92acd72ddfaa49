/**
 * The built-in `sleep` operation's one rule, shared by the worker that runs it and the API that
 * can refuse it up front: `payload.seconds` (default 1, negatives count as 0) may not exceed
 * `worker.builtin_sleep_max_seconds` — `sleep` is a demo, and a few long ones would hold every
 * worker slot.
 *
 * @module
 */
import type { FieldIssue } from './errors.js';

export const DEFAULT_SLEEP_MAX_SECONDS = 60;

/** The seconds a `sleep` payload asks for. */
export function sleepSeconds(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.max(value, 0) : 1;
}

/** Why a payload may not run under the built-ins, or undefined when it may. */
export function builtinSleepIssue(payload: Readonly<Record<string, unknown>>, maxSeconds: number): FieldIssue | undefined {
  if (payload.operation !== 'sleep') return undefined;
  const seconds = sleepSeconds(payload.seconds);
  if (seconds <= maxSeconds) return undefined;
  return { path: 'payload.seconds', message: `sleep may last at most ${maxSeconds} s (worker.builtin_sleep_max_seconds); ${seconds} asked` };
}

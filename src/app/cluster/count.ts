/**
 * How many processes a command runs (server.processes), and how long the primary waits
 * before replacing one that died. Pure, so both are unit-tested without forking anything.
 *
 * @module
 */
import { availableParallelism } from 'node:os';

/** `auto`: os.availableParallelism(), the CPUs this process may run on (a container's CPU quota may be lower: set a number then). */
export function processCount(setting: number | 'auto', cpus: () => number = availableParallelism): number {
  return setting === 'auto' ? Math.max(1, cpus()) : setting;
}

export interface RestartPolicy {
  /** Delay before the first replacement of a process that crashed. */
  readonly baseMs: number;
  /** The delay doubles with each crash in a row, up to this. */
  readonly maxMs: number;
  /** A process that ran this long before dying resets the count: it was no crash loop. */
  readonly stableMs: number;
}

export const RESTART_POLICY: RestartPolicy = { baseMs: 250, maxMs: 30_000, stableMs: 30_000 };

/**
 * The crashes in a row of one slot after a process of it died having run `ranMs`: a short life
 * adds one to `previous`, a long one starts again from one.
 */
export function crashesInARow(previous: number, ranMs: number, policy: RestartPolicy = RESTART_POLICY): number {
  return ranMs >= policy.stableMs ? 1 : previous + 1;
}

/** Delay before replacing a process after `crashes` crashes in a row (1 for the first): doubling, capped. */
export function restartDelayMs(crashes: number, policy: RestartPolicy = RESTART_POLICY): number {
  const doublings = Math.min(Math.max(crashes - 1, 0), 30); // 2 ** 30 × base is past any cap; no Infinity.
  return Math.min(policy.maxMs, policy.baseMs * 2 ** doublings);
}

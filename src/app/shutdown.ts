/**
 * Process-level stopping: the first SIGTERM or SIGINT starts a graceful stop and exits 0 when
 * it is done (1 if it failed); a second signal exits at once. An unhandled promise rejection
 * is a bug whose consequences nobody can know, so it stops the process too (D55): fatal log,
 * a graceful stop bounded to a few seconds, exit 1 — the supervisor restarts it, and nothing
 * is lost because a message is acknowledged only once its outcome is stored.
 *
 * `closeInTurn` is the building block of every shutdown: each step runs whatever the others
 * did, so one failing close never leaves the rest open.
 *
 * @module
 */
import { constants } from 'node:os';
import type { Logger } from '../ports/logger.js';

/** How long the graceful stop after an unhandled rejection may take before the process exits anyway. */
export const CRASH_STOP_MS = 5000;

export interface ShutdownStep {
  /** What is being closed, for the log line when it fails. */
  readonly name: string;
  readonly run: () => unknown;
}

/**
 * Runs `steps` one after another; a step that throws or rejects is logged with its name and
 * the next one runs anyway. Rejects at the end with an AggregateError of every failure.
 */
export async function closeInTurn(steps: readonly ShutdownStep[], logger: Logger): Promise<void> {
  const failures: unknown[] = [];
  const failed: string[] = [];
  for (const step of steps) {
    try {
      await step.run();
    } catch (error) {
      logger.error({ err: error, step: step.name }, `shutdown: ${step.name} failed; closing the rest anyway`);
      failures.push(error);
      failed.push(step.name);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, `shutdown: could not ${failed.join(', ')}`);
}

export function exitOnSignals(stop: () => Promise<void>, logger: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(128 + (constants.signals[signal] ?? 1));
    }
    stopping = true;
    logger.info({ signal }, 'signal received: stopping gracefully (send it again to force)');
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'graceful shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

export interface CrashLogger extends Logger {
  fatal(fields: object, message?: string): void;
  flush?(): void;
}

/**
 * Makes an unhandled rejection end the process: `stop()` gives the running app's graceful stop
 * (undefined while it is still starting), bounded by `boundMs`; then exit 1. Installed once.
 */
export function exitOnUnhandledRejection(stop: () => (() => Promise<void>) | undefined, logger: CrashLogger, boundMs = CRASH_STOP_MS): void {
  let crashing = false;
  process.on('unhandledRejection', (reason) => {
    if (crashing) {
      logger.error({ err: reason }, 'another unhandled promise rejection while stopping');
      return;
    }
    crashing = true;
    logger.fatal({ err: reason, stop_bound_ms: boundMs }, 'unhandled promise rejection (a bug): stopping the process; unacknowledged work is redelivered');
    const graceful = stop()?.() ?? Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        logger.error({ stop_bound_ms: boundMs }, 'graceful stop took too long after the unhandled rejection; exiting');
        resolve();
      }, boundMs);
    });
    void Promise.race([graceful.catch((error: unknown) => logger.error({ err: error }, 'graceful stop after the unhandled rejection failed')), bound]).finally(() => {
      clearTimeout(timer);
      logger.flush?.();
      process.exit(1);
    });
  });
}

/**
 * Signal handling: the first SIGTERM or SIGINT starts a graceful stop and exits 0 when it is
 * done (1 if it failed); a second signal exits at once. Idempotent, installed once per process.
 *
 * @module
 */
import { constants } from 'node:os';
import type { Logger } from '../ports/logger.js';

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

/** `openhqm start | api | worker`: run the gateway, or one half of it. */
import type { Command } from 'commander';
import type { Roles } from '../../app/backends.js';
import { startApp } from '../../app/compose.js';
import { exitOnSignals, exitOnUnhandledRejection } from '../../app/shutdown.js';
import { isHqmError } from '../../core/errors.js';
import { createLogger } from '../../observability/logger.js';
import { addConfigFlags, addServerFlags, addWorkerFlags, loadFromFlags, type CommonFlags } from '../options.js';

/** Start-up refused because of what the user asked for: exit 2, as for a bad configuration. */
const REFUSALS = new Set(['HQM_ERR_CONFIG', 'HQM_ERR_ADAPTER_UNKNOWN', 'HQM_ERR_CAPABILITY', 'HQM_ERR_PROCESSOR_LOAD', 'HQM_ERR_ROUTES_INVALID']);

export function registerRunCommands(program: Command): void {
  const run = (roles: Roles) => async (flags: CommonFlags) => {
    let loaded;
    try {
      loaded = loadFromFlags(flags);
    } catch (error) {
      return fail(error);
    }
    const { config } = loaded;
    const logger = createLogger({ level: config.monitoring.log_level, format: config.monitoring.log_format });
    // A stray rejection is a bug with unknown effects: stop cleanly and let the supervisor restart us.
    let stop: (() => Promise<void>) | undefined;
    exitOnUnhandledRejection(() => stop, logger);
    try {
      const app = await startApp(config, roles, logger);
      stop = app.stop;
      exitOnSignals(app.stop, logger);
    } catch (error) {
      logger.flush();
      return fail(error);
    }
  };

  const describe = (command: Command, roles: Roles): Command => {
    addConfigFlags(command);
    if (roles.api) addServerFlags(command);
    if (roles.worker) addWorkerFlags(command);
    return command.action(run(roles));
  };

  describe(program.command('start', { isDefault: true }).description('run the HTTP API and the workers in one process (the default)'), { api: true, worker: true });
  describe(program.command('api').description('run only the HTTP API (workers run elsewhere, on a shared backend)'), { api: true, worker: false });
  describe(program.command('worker').description('run only the workers (consume the queue; no request API — health and metrics on monitoring.metrics_port when set)'), { api: false, worker: true });
}

export function fail(error: unknown): never {
  const refused = isHqmError(error) && REFUSALS.has(error.code);
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`openhqm: ${message}\n`);
  process.exit(refused ? 2 : 1);
}

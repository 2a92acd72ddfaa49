/** `openhqm start | api | worker`: run the gateway, or one half of it. */
import cluster from 'node:cluster';
import type { Command } from 'commander';
import type { Roles } from '../../app/backends.js';
import { processCount } from '../../app/cluster/count.js';
import { joinCluster } from '../../app/cluster/member.js';
import { supervise } from '../../app/cluster/primary.js';
import { startApp } from '../../app/compose.js';
import { exitOnSignals, exitOnUnhandledRejection } from '../../app/shutdown.js';
import type { Config } from '../../config/schema.js';
import { HqmError, isHqmError } from '../../core/errors.js';
import { createLogger, type PinoLogger } from '../../observability/logger.js';
import { addConfigFlags, addProcessFlags, addServerFlags, addWorkerFlags, loadFromFlags, type CommonFlags } from '../options.js';

/** How long the primary lets its processes take beyond their own grace period before it kills them. */
const STOP_MARGIN_MS = 30_000;

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
    const forked = flags.clusterMember === true && cluster.isWorker;
    if (!forked && processCount(config.server.processes) > 1) return runPrimary(config, logger);
    // A stray rejection is a bug with unknown effects: stop cleanly and let the supervisor restart us.
    let stop: (() => Promise<void>) | undefined;
    exitOnUnhandledRejection(() => stop, logger);
    try {
      const member = forked ? joinCluster(logger.child({ component: 'cluster' })) : undefined;
      const app = await startApp(member?.configure(config) ?? config, roles, logger, { onMetrics: member === undefined ? undefined : (metrics) => member.shareMetrics(metrics), tracing: loaded.tracing });
      stop = app.stop;
      exitOnSignals(app.stop, logger);
      member?.ready(app.stop);
    } catch (error) {
      logger.flush();
      return fail(error);
    }
  };

  const describe = (command: Command, roles: Roles): Command => {
    addConfigFlags(command);
    addProcessFlags(command);
    if (roles.api) addServerFlags(command);
    if (roles.worker) addWorkerFlags(command);
    return command.action(run(roles));
  };

  describe(program.command('start', { isDefault: true }).description('run the HTTP API and the workers in one process (the default)'), { api: true, worker: true });
  describe(program.command('api').description('run only the HTTP API (workers run elsewhere, on a shared backend)'), { api: true, worker: false });
  describe(program.command('worker').description('run only the workers (consume the queue; no request API — health and metrics on monitoring.metrics_port when set)'), { api: false, worker: true });
}

/** --processes N: this process forks N copies of the command and supervises them (D150); it runs no app. */
async function runPrimary(config: Config, logger: PinoLogger): Promise<never> {
  const count = processCount(config.server.processes);
  if (!cluster.isPrimary) {
    // Forked by some other node:cluster primary (pm2's cluster mode, say): that one makes the copies.
    return fail(new HqmError('HQM_ERR_CONFIG', `server.processes: this process was forked by another node:cluster primary (pm2 cluster mode?); let it run the copies and set server.processes to 1 (asked for ${count})`));
  }
  exitOnUnhandledRejection(() => undefined, logger);
  const code = await supervise({ count, logger: logger.child({ component: 'cluster' }), stopBoundMs: config.worker.shutdown_grace_seconds * 1000 + STOP_MARGIN_MS });
  logger.flush();
  process.exit(code);
}

export function fail(error: unknown): never {
  const refused = isHqmError(error) && REFUSALS.has(error.code);
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`openhqm: ${message}\n`);
  process.exit(refused ? 2 : 1);
}

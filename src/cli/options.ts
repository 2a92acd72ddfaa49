/**
 * Flags shared by the commands, and how they become configuration overrides (the last and
 * strongest configuration source).
 *
 * @module
 */
import { type Command, Option } from 'commander';
import { backendNames } from '../app/backends.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import type { FieldIssue } from '../core/errors.js';

export interface CommonFlags {
  config?: string;
  host?: string;
  port?: string;
  workers?: string;
  queues?: string;
  queueType?: string;
  cacheType?: string;
  sqlitePath?: string;
  logLevel?: string;
  set?: string[];
  processes?: string;
  /** Hidden: set by the primary of --processes on the processes it forks (D150). */
  clusterMember?: boolean;
}

export function addConfigFlags(command: Command): Command {
  return command
    .option('-c, --config <file>', 'YAML configuration file (else $OPENHQM_CONFIG)')
    .option('--set <key=value>', 'set any configuration key, e.g. --set worker.max_retries=5 (repeatable)', collect, [])
    .option('--queue-type <type>', 'queue backend (queue.type)')
    .option('--cache-type <type>', 'result store (cache.type)')
    .option('--sqlite-path <file>', 'SQLite database file (sqlite.path)')
    .option('--log-level <level>', 'trace, debug, info, warn, error (monitoring.log_level)');
}

export function addServerFlags(command: Command): Command {
  return command.option('--host <host>', 'address to listen on (server.host)').option('-p, --port <port>', 'port to listen on (server.port)');
}

/** --processes for the commands that run the app: N processes share the socket (node:cluster, D150). */
export function addProcessFlags(command: Command): Command {
  return command
    .option('--processes <n>', 'processes sharing the listening socket, or "auto" for one per CPU (server.processes; default 1)')
    .addOption(new Option('--cluster-member', 'set by the primary on the processes it forks').hideHelp());
}

export function addWorkerFlags(command: Command): Command {
  return command
    .addOption(new Option('-w, --workers <n>', 'requests processed at once (worker.count)'))
    .addOption(new Option('--queues <names>', 'named queues to consume, comma-separated (worker.queues; default: all)'));
}

/** The configuration every command runs with: all sources, flags last, and the backend names checked in the same pass. */
export function loadFromFlags(flags: CommonFlags): LoadedConfig {
  const { overrides, issues } = overridesFrom(flags);
  return loadConfig({ configPath: flags.config, overrides, issues, backends: backendNames() });
}

/**
 * Turns flags into a nested overrides object for loadConfig. A malformed --set, or two flags
 * where one sets a key inside the other's value, is an issue reported with the configuration's
 * own, not an error that hides them.
 */
export function overridesFrom(flags: CommonFlags): { overrides: Record<string, unknown>; issues: FieldIssue[] } {
  const overrides: Record<string, unknown> = {};
  const issues: FieldIssue[] = [];
  const setBy = new Map<string, string>();
  const set = (path: string, value: unknown, flag: string): void => {
    const clash = [...setBy].find(([other]) => other.startsWith(`${path}.`) || path.startsWith(`${other}.`));
    if (clash !== undefined) {
      const [outer, inner] = clash[0].length < path.length ? [clash[1], flag] : [flag, clash[1]];
      issues.push({ path: clash[0].length < path.length ? clash[0] : path, message: `set by ${outer}, and ${inner} sets a key inside it; keep one` });
      return;
    }
    setBy.set(path, flag); // The same key twice: the last flag wins, as usual on a command line.
    const parts = path.split('.');
    let node = overrides;
    for (const part of parts.slice(0, -1)) {
      node[part] ??= {};
      node = node[part] as Record<string, unknown>;
    }
    node[parts[parts.length - 1] as string] = value;
  };
  for (const entry of flags.set ?? []) {
    const at = entry.indexOf('=');
    const key = entry.slice(0, Math.max(at, 0)).trim().toLowerCase();
    if (at <= 0 || key.split('.').some((part) => part === '')) {
      issues.push({ path: '--set', message: `expected section.key=value (such as worker.max_retries=5), got ${JSON.stringify(entry)}` });
      continue;
    }
    set(key, entry.slice(at + 1), `--set ${key}`);
  }
  if (flags.host !== undefined) set('server.host', flags.host, '--host');
  if (flags.port !== undefined) set('server.port', flags.port, '--port');
  if (flags.workers !== undefined) set('worker.count', flags.workers, '--workers');
  if (flags.queues !== undefined) set('worker.queues', flags.queues, '--queues');
  if (flags.queueType !== undefined) set('queue.type', flags.queueType, '--queue-type');
  if (flags.cacheType !== undefined) set('cache.type', flags.cacheType, '--cache-type');
  if (flags.sqlitePath !== undefined) set('sqlite.path', flags.sqlitePath, '--sqlite-path');
  if (flags.logLevel !== undefined) set('monitoring.log_level', flags.logLevel, '--log-level');
  if (flags.processes !== undefined) set('server.processes', flags.processes, '--processes');
  return { overrides, issues };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

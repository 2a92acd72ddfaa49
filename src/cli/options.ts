/**
 * Flags shared by the commands, and how they become configuration overrides (the last and
 * strongest configuration source).
 *
 * @module
 */
import { type Command, Option } from 'commander';
import { backendNames } from '../app/backends.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';

export interface CommonFlags {
  config?: string;
  host?: string;
  port?: string;
  workers?: string;
  queueType?: string;
  cacheType?: string;
  sqlitePath?: string;
  logLevel?: string;
  set?: string[];
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

export function addWorkerFlags(command: Command): Command {
  return command.addOption(new Option('-w, --workers <n>', 'requests processed at once (worker.count)'));
}

/** The configuration every command runs with: all sources, flags last, and the backend names checked in the same pass. */
export function loadFromFlags(flags: CommonFlags): LoadedConfig {
  return loadConfig({ configPath: flags.config, overrides: overridesFrom(flags), backends: backendNames() });
}

/** Turns flags into a nested overrides object for loadConfig. */
export function overridesFrom(flags: CommonFlags): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  const set = (path: string, value: unknown): void => {
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
    if (at <= 0) throw new Error(`--set expects key=value, got "${entry}"`);
    set(entry.slice(0, at).trim().toLowerCase(), entry.slice(at + 1));
  }
  if (flags.host !== undefined) set('server.host', flags.host);
  if (flags.port !== undefined) set('server.port', flags.port);
  if (flags.workers !== undefined) set('worker.count', flags.workers);
  if (flags.queueType !== undefined) set('queue.type', flags.queueType);
  if (flags.cacheType !== undefined) set('cache.type', flags.cacheType);
  if (flags.sqlitePath !== undefined) set('sqlite.path', flags.sqlitePath);
  if (flags.logLevel !== undefined) set('monitoring.log_level', flags.logLevel);
  return overrides;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

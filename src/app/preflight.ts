/**
 * The checks start makes that need no connection, repeated for `openhqm config check` with
 * start's own helpers so the messages match: the backend names (checked by loadConfig, given the
 * registries' names), the routes (compiled with start's options) and the processor module (it
 * must exist; importing it would run its code, so a module that fails to import is caught by
 * start only). It checks what `openhqm start` would use: a config for `openhqm api` alone that
 * names a module only the worker image has fails here. A custom backend's module is imported
 * and its factory checked (D281). What only a created backend can tell — whether it is reachable, and
 * its capabilities for `openhqm api` or `openhqm worker` alone — is left to start.
 *
 * @module
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { loadCustomFactory, readSpec } from '../adapters/custom/load.js';
import { HqmError } from '../core/errors.js';
import { Router } from '../routing/router.js';
import { inlineKeys, openKeyFile } from './auth.js';
import { configuredRoutes, routingCompileOptions, startupCompileOptions } from './routes.js';
import { readTls } from './security.js';

/** Throws the error start would throw (RoutesError, HQM_ERR_PROCESSOR_LOAD); returns the routes' warnings. */
export async function preflight(config: Config, cwd = process.cwd()): Promise<string[]> {
  const warnings: string[] = [];
  if (config.routing.enabled) {
    const router = await Router.compile(configuredRoutes(config.routing), { ...routingCompileOptions(config.routing), ...startupCompileOptions(config) });
    warnings.push(...router.warnings.map((w) => `routes: ${w.route === null ? '' : `route "${w.route}": `}${w.message}`));
  }
  const module = config.worker.processor_module;
  if (module !== null) {
    const file = resolve(cwd, module);
    if (statSync(file, { throwIfNoEntry: false })?.isFile() !== true) {
      throw new HqmError('HQM_ERR_PROCESSOR_LOAD', `cannot load worker.processor_module ${module}: ${file} is not a file`);
    }
  }
  // A custom backend's module is imported (its top level runs) and its factory checked; the
  // object it creates, and so its methods, only start sees, since creating it may connect (D281).
  for (const section of ['queue', 'cache'] as const) {
    const { type, custom_module, custom_class, custom_config } = config[section];
    if (type === 'custom') await loadCustomFactory(section, readSpec({ custom_module, custom_class, custom_config }).spec, cwd);
  }
  // The files auth and TLS read at start-up: missing, broken or mismatched is refused here too.
  const keysFile = config.auth.api_keys_file;
  if (config.auth.enabled && keysFile !== null) openKeyFile(keysFile, 0, inlineKeys(config.auth), { onReload: () => undefined, onError: () => undefined }).close();
  readTls(config.server.tls);
  return warnings;
}

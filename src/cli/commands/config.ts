/**
 * `openhqm config check`: validate the configuration as `openhqm start` would before it
 * connects (see app/preflight.ts), with the same messages and exit code, and print it with
 * secrets masked.
 */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { preflight } from '../../app/preflight.js';
import { maskSecrets } from '../../config/mask.js';
import { shownEndpoint, type TracingSettings } from '../../config/tracing.js';
import { addConfigFlags, addServerFlags, addWorkerFlags, loadFromFlags, type CommonFlags } from '../options.js';
import { fail } from './run.js';

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('inspect the configuration');
  const check = config
    .command('check')
    .description('validate the configuration from all sources as `openhqm start` would, and print the effective values (secrets masked); exit 2 if invalid')
    .option('--json', 'print JSON instead of YAML');
  // Every flag start takes is a configuration source, so check takes them all.
  addWorkerFlags(addServerFlags(addConfigFlags(check))).action(async (flags: CommonFlags & { json?: boolean }) => {
    try {
      const { config: effective, file, tracing } = loadFromFlags(flags);
      for (const warning of await preflight(effective)) process.stderr.write(`openhqm: warning: ${warning}\n`);
      const masked = maskSecrets(effective);
      if (flags.json === true) process.stdout.write(`${JSON.stringify(masked, null, 2)}\n`);
      else process.stdout.write(`# configuration is valid${file === undefined ? '' : ` (file: ${file})`}\n# ${describeTracing(tracing)}\n${stringify(masked)}`);
    } catch (error) {
      fail(error);
    }
  });
}

/** Tracing is set by OTEL_* variables, outside the printed keys: the header says what they make of it. */
function describeTracing(tracing: TracingSettings): string {
  if (!tracing.enabled) return 'tracing: off (OTEL_EXPORTER_OTLP_ENDPOINT turns it on: docs/observability.md)';
  return `tracing: on, OTLP/HTTP (${tracing.protocol}) to ${shownEndpoint(tracing.endpoint)}, sampler ${tracing.sampler.name}`;
}

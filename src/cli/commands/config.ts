/** `openhqm config check`: validate the configuration and print it, secrets masked. */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { maskSecrets } from '../../config/mask.js';
import { addConfigFlags, loadFromFlags, type CommonFlags } from '../options.js';
import { fail } from './run.js';

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('inspect the configuration');
  addConfigFlags(
    config
      .command('check')
      .description('validate the configuration from all sources and print the effective values (secrets masked); exit 2 if invalid')
      .option('--json', 'print JSON instead of YAML'),
  ).action((flags: CommonFlags & { json?: boolean }) => {
    try {
      const { config: effective, file } = loadFromFlags(flags);
      const masked = maskSecrets(effective);
      if (flags.json === true) process.stdout.write(`${JSON.stringify(masked, null, 2)}\n`);
      else process.stdout.write(`# configuration is valid${file === undefined ? '' : ` (file: ${file})`}\n${stringify(masked)}`);
    } catch (error) {
      fail(error);
    }
  });
}

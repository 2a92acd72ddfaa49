#!/usr/bin/env node
/**
 * The `openhqm` command. Exit codes: 0 success, 1 runtime failure, 2 configuration refused.
 *
 * @module
 */
import { Command } from 'commander';
import { VERSION } from '../app/version.js';
import { registerConfigCommand } from './commands/config.js';
import { registerHealthcheckCommand } from './commands/healthcheck.js';
import { registerRoutesCommand } from './commands/routes.js';
import { registerRunCommands } from './commands/run.js';

const program = new Command()
  .name('openhqm')
  .description('Asynchronous HTTP request gateway: submit, get a correlation id at once, fetch the result by id.')
  .version(VERSION, '-v, --version')
  .showHelpAfterError('(run with --help for usage)');

registerRunCommands(program);
registerConfigCommand(program);
registerRoutesCommand(program);
registerHealthcheckCommand(program);

await program.parseAsync(process.argv);

#!/usr/bin/env node
/**
 * The `openhqm` command. Exit codes: 0 success, 1 runtime failure (or a usage error commander
 * reports: an unknown command or option), 2 configuration refused; the commands that call a
 * running gateway (`top`, `requests`) add 3 refused (4xx), 4 unreachable, 5 server error
 * (cli/remote/exit-codes.ts).
 *
 * @module
 */
import { Command } from 'commander';
import { VERSION } from '../app/version.js';
import { registerBridgeCommand } from './commands/bridge.js';
import { registerConfigCommand } from './commands/config.js';
import { registerHealthcheckCommand } from './commands/healthcheck.js';
import { registerKeysCommand } from './commands/keys.js';
import { registerRequestsCommand } from './commands/requests.js';
import { registerRoutesCommand } from './commands/routes.js';
import { registerRunCommands } from './commands/run.js';
import { registerTopCommand } from './commands/top.js';

const program = new Command()
  .name('openhqm')
  .description('Asynchronous HTTP request gateway: submit, get a correlation id at once, fetch the result by id.')
  .version(VERSION, '-v, --version')
  .showHelpAfterError('(run with --help for usage)');

registerRunCommands(program);
registerConfigCommand(program);
registerRoutesCommand(program);
registerHealthcheckCommand(program);
registerKeysCommand(program);
registerTopCommand(program);
registerRequestsCommand(program);
registerBridgeCommand(program);

// `start` is the default command, so commander hands it a word that names no command as an
// argument ("too many arguments for 'start'"). A first word that is no command is a typo.
program.hook('preSubcommand', (self) => {
  const first = self.args[0];
  const commands = [...self.commands.flatMap((c) => [c.name(), ...c.aliases()]), 'help'];
  if (first !== undefined && !first.startsWith('-') && !commands.includes(first)) {
    self.error(`error: unknown command '${first}' (commands: ${commands.join(', ')})`, { code: 'commander.unknownCommand' });
  }
});

await program.parseAsync(process.argv);

/** `openhqm routes test`: route one message with a routes file and print the result. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { readRoutesFile, routeSimulator } from '../../app/routes.js';
import { addConfigFlags, loadFromFlags, type CommonFlags } from '../options.js';
import { fail } from './run.js';

export function registerRoutesCommand(program: Command): void {
  const routes = program.command('routes').description('work with routing files');
  addConfigFlags(
    routes
      .command('test')
      .description('route a message (a queue envelope as JSON) with a routes file; print {route_name, endpoint, method, payload, headers, query_params, timeout, max_retries} and exit 0, or {error} and exit 1')
      .requiredOption('--routes <file>', 'routes file (YAML or JSON), in the original format')
      .requiredOption('--message <file>', 'the message: a queue envelope as JSON'),
  ).action(async (flags: CommonFlags & { routes: string; message: string }) => {
    let config;
    try {
      config = loadFromFlags(flags).config;
    } catch (error) {
      fail(error);
    }
    const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    let routesRaw: unknown;
    let message: unknown;
    try {
      routesRaw = readRoutesFile(flags.routes);
      message = readMessage(flags.message);
    } catch (error) {
      print({ error: (error as Error).message });
      process.exit(1);
    }
    const outcome = await routeSimulator(config)({ routes: routesRaw, message });
    if (!outcome.ok) {
      print({ error: outcome.error });
      process.exit(1);
    }
    for (const warning of outcome.warnings) process.stderr.write(`openhqm: warning: ${warning}\n`);
    print(outcome.result);
  });
}

/** The message file as JSON, with an error that names the file. */
function readMessage(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`the message file ${path} is not JSON: ${(error as Error).message}`);
  }
}

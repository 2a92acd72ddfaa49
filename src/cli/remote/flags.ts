/**
 * The flags every command that calls a running gateway shares: where (--url), as whom
 * (--api-key or --token), how long to wait, and --json. Each reads its environment variable
 * when the flag is absent, so a credential need not sit in the shell history.
 *
 * @module
 */
import { type Command, Option } from 'commander';
import { type Credential, RemoteApi, RemoteError } from './client.js';
import { EXIT } from './exit-codes.js';

export interface RemoteFlags {
  readonly url?: string;
  readonly apiKey?: string;
  readonly token?: string;
  readonly timeoutMs: string;
  readonly json?: boolean;
}

export function addRemoteFlags(command: Command): Command {
  return command
    .addOption(new Option('--url <url>', 'where the OpenHQM API answers, e.g. http://localhost:8000 (with proxy.capture.control_prefix in sidecar mode)').env('OPENHQM_URL'))
    .addOption(new Option('--api-key <key>', 'an API key, sent as X-API-Key').env('OPENHQM_API_KEY'))
    .addOption(new Option('--token <token>', 'an API key or JWT, sent as Authorization: Bearer').env('OPENHQM_TOKEN'))
    .addOption(new Option('--timeout-ms <ms>', 'how long to wait for each answer').default('10000'))
    .option('--json', 'print the API\'s JSON, one document per line, for scripts');
}

/** The client for the flags; a missing or malformed --url is a usage error (exit 2). */
export function remoteFrom(flags: RemoteFlags, command: Command): RemoteApi {
  const url = flags.url;
  if (url === undefined || url === '') usage('--url (or OPENHQM_URL) is required: where the OpenHQM API answers, e.g. http://localhost:8000');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    usage(`--url ${JSON.stringify(url)} is not a URL (expected http://host:port)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') usage(`--url ${JSON.stringify(url)}: expected http:// or https://`);
  const timeoutMs = Number(flags.timeoutMs);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) usage(`--timeout-ms ${JSON.stringify(flags.timeoutMs)}: expected milliseconds from 1 to 600000`);
  return new RemoteApi({ baseUrl: url, credential: credentialOf(flags, command), timeoutMs });
}

/**
 * One credential: a flag wins over an environment variable (a key exported for the shell,
 * a token given for one call), and both flags at once are a usage error.
 */
function credentialOf(flags: RemoteFlags, command: Command): Credential {
  const given = (name: 'apiKey' | 'token'): boolean => flags[name] !== undefined && flags[name] !== '';
  const fromCli = (name: 'apiKey' | 'token'): boolean => given(name) && command.getOptionValueSource(name) === 'cli';
  if (fromCli('apiKey') && fromCli('token')) usage('give --api-key or --token, not both');
  const useToken = fromCli('token') || (given('token') && !given('apiKey'));
  if (useToken) return { bearer: flags.token as string };
  return given('apiKey') ? { apiKey: flags.apiKey as string } : undefined;
}

export function usage(message: string): never {
  process.stderr.write(`openhqm: ${message}\n`);
  process.exit(EXIT.usage);
}

/**
 * Ends the command for an error: the server's code and detail (or why there was no answer) on
 * stderr, and the exit code of its kind. With --json the server's own error body goes to stdout
 * too, so a script reads the same shape the API gives.
 */
export function failRemote(error: unknown, json: boolean | undefined): never {
  if (!(error instanceof RemoteError)) {
    process.stderr.write(`openhqm: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(EXIT.failure);
  }
  const { status, code, body } = error.details;
  if (json === true && body !== undefined) process.stdout.write(`${JSON.stringify(body)}\n`);
  const head = status === undefined ? '' : `${status}${code === undefined ? '' : ` ${code}`}: `;
  process.stderr.write(`openhqm: ${head}${error.message}\n`);
  process.exit(error.exitCode);
}

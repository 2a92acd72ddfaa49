/**
 * `openhqm healthcheck`: the container's health check (the Dockerfile's HEALTHCHECK).
 *
 * It checks the OpenHQM process of the container as that process was started, not as the check
 * guesses: it reads the command line, environment and working directory of `--pid` (1 by
 * default: the image's ENTRYPOINT, exec form, or what `docker run --init` starts) from /proc,
 * loads the configuration as that process did — file, environment, flags — and asks
 * `<proxy.capture.control_prefix>/health/live` on its port. An environment variable alone
 * missed a prefix set in the file, asked /health/live, got the 202 of a captured request and
 * forwarded a request to the application every 10 s.
 *
 * - Healthy is a 200 with `{"status":"alive"}` and nothing else: a 202 means the check asked a
 *   path outside the control prefix and the request was captured.
 * - `openhqm worker` opens no listener: it is healthy while it runs.
 * - Without an OpenHQM process at `--pid` (no /proc, a shell in between, a check run by hand),
 *   the check uses its own flags and environment, as `openhqm start` with them would listen.
 *
 * Exit 0 healthy, 1 not — never 2, which Docker reserves — with one line saying why.
 *
 * `node dist/cli/commands/healthcheck.js` runs it without loading the rest of the CLI (the
 * server, the adapters): about half the start-up cost of `openhqm healthcheck`, paid every 10 s.
 *
 * @module
 */
import { readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, Option } from 'commander';
import { loadConfig } from '../../config/load.js';
import { addConfigFlags, addServerFlags, addWorkerFlags, overridesFrom, type CommonFlags } from '../options.js';

/** The commands that run the gateway; the others are short-lived tools. */
const RUN_COMMANDS = new Set(['start', 'api', 'worker']);
/** The CLI script in a command line: the image's dist/cli/main.js, or the npm bin. */
const CLI_SCRIPT = /(?:^|\/)dist\/cli\/main\.js$|(?:^|\/)openhqm$/;

interface ServerProcess {
  readonly pid: number;
  readonly command: string;
  /** The arguments after the command. */
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string | undefined;
}

export function registerHealthcheckCommand(program: Command): void {
  defineHealthcheck(program.command('healthcheck'));
}

function defineHealthcheck(command: Command): Command {
  command
    .description('container health check: exit 0 when the OpenHQM process (--pid, default 1) is alive — a 200 from <control_prefix>/health/live, or a running `openhqm worker` — else 1')
    .addOption(new Option('--pid <pid>', 'the process to check: its command line, environment and directory are read from /proc').default('1'))
    .addOption(new Option('--timeout-ms <ms>', 'how long to wait for the answer').default('2000'));
  return addServerFlags(addConfigFlags(command)).action(async (flags: CommonFlags & { pid: string; timeoutMs: string }) => {
    const verdict = await check(flags).catch((error: unknown) => ({ healthy: false, reason: error instanceof Error ? error.message : String(error) }));
    process.stdout.write(`${verdict.healthy ? 'healthy' : 'unhealthy'}: ${verdict.reason}\n`);
    process.exitCode = verdict.healthy ? 0 : 1;
  });
}

async function check(flags: CommonFlags & { pid: string; timeoutMs: string }): Promise<{ healthy: boolean; reason: string }> {
  if (!/^\d+$/.test(flags.pid) || Number(flags.pid) === 0) return { healthy: false, reason: `--pid ${JSON.stringify(flags.pid)} is not a process id` };
  const target = readServerProcess(Number(flags.pid));
  if (target?.command === 'worker') return { healthy: true, reason: `openhqm worker (pid ${target.pid}) is running; it serves no request API to ask` };
  const own = { command: 'start', args: [], env: process.env, cwd: undefined };
  const { command, args, env, cwd } = target ?? own;
  // A relative config path (flag or OPENHQM_CONFIG) is relative to where that process runs.
  if (cwd !== undefined) process.chdir(cwd);
  const serverFlags = target === undefined ? flags : parseRunFlags(command, args);
  // Backend names are not checked here: the server refused bad ones when it started.
  const { overrides, issues } = overridesFrom(serverFlags);
  const { config } = loadConfig({ configPath: serverFlags.config, overrides, issues, env });
  if (config.server.port === 0) return { healthy: false, reason: 'server.port is 0 (any free port): the check cannot know which one; set server.port' };
  const tls = config.server.tls.cert_file !== null;
  const url = `${tls ? 'https' : 'http'}://${urlHost(config.server.host)}:${config.server.port}${config.proxy.capture.control_prefix}/health/live`;
  return probe(url, Number(flags.timeoutMs), tls ? await ownCertificateFetch() : fetch);
}

/**
 * fetch for the server's own HTTPS port on loopback: its certificate names the public host, not
 * 127.0.0.1, so it is not verified — this asks the process next to it, through no network.
 */
async function ownCertificateFetch(): Promise<typeof fetch> {
  const undici = await import('undici');
  const dispatcher = new undici.Agent({ connect: { rejectUnauthorized: false } });
  return ((url: string, init: RequestInit) => undici.fetch(url, { ...(init as object), dispatcher })) as unknown as typeof fetch;
}

/** GET the liveness route: only its own answer, a 200 with status "alive", is healthy. */
async function probe(url: string, timeoutMs: number, get: typeof fetch): Promise<{ healthy: boolean; reason: string }> {
  let res: Response;
  try {
    res = await get(url, { redirect: 'manual', headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, a timeout) is its cause.
    const { cause } = error as { cause?: { code?: string; message?: string } };
    const detail = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
    return { healthy: false, reason: `${url}: no answer (${detail})` };
  }
  const body = await res.text().catch(() => '');
  if (res.status === 200 && isAlive(body)) return { healthy: true, reason: `${url} answered 200` };
  const hint = res.status === 202 ? ' — a captured request, not the health route: the path is outside proxy.capture.control_prefix' : '';
  return { healthy: false, reason: `${url} answered ${res.status}${hint}` };
}

function isAlive(body: string): boolean {
  try {
    return (JSON.parse(body) as { status?: unknown }).status === 'alive';
  } catch {
    return false;
  }
}

/** The gateway process at `pid`, or undefined when there is none (no /proc, another program, a one-off command). */
function readServerProcess(pid: number): ServerProcess | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const argv = readProc(pid, 'cmdline')?.split('\0');
  if (argv === undefined) return undefined;
  if (argv.at(-1) === '') argv.pop();
  const script = argv.findIndex((arg, i) => i > 0 && CLI_SCRIPT.test(arg));
  if (script < 0) return undefined;
  const rest = argv.slice(script + 1);
  const first = rest[0];
  // `start` is the default command: none given, or flags straight away.
  const named = first !== undefined && !first.startsWith('-');
  const command = named ? first : 'start';
  if (!RUN_COMMANDS.has(command)) return undefined;
  const environ = readProc(pid, 'environ');
  return {
    pid,
    command,
    args: named ? rest.slice(1) : rest,
    env: environ === undefined ? process.env : parseEnviron(environ),
    cwd: readCwd(pid),
  };
}

/** The flags of `openhqm start|api` as that command reads them. */
function parseRunFlags(command: string, args: readonly string[]): CommonFlags {
  const parser = new Command()
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    .allowUnknownOption()
    .allowExcessArguments();
  addConfigFlags(parser);
  addServerFlags(parser);
  if (command === 'start') addWorkerFlags(parser);
  parser.parse([...args], { from: 'user' });
  return parser.opts<CommonFlags>();
}

function parseEnviron(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of text.split('\0')) {
    const at = entry.indexOf('=');
    if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return env;
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

function readCwd(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

/** Where to reach a server listening on `host`: a wildcard address is reached on loopback. */
function urlHost(host: string): string {
  if (host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** Run as a script (`node dist/cli/commands/healthcheck.js`) rather than imported by the CLI. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntryPoint()) await defineHealthcheck(new Command('openhqm-healthcheck')).parseAsync(process.argv);

/**
 * `openhqm requests get|list|cancel|replay`: the request API of a running gateway for scripts
 * (`--json`: the API's own JSON, one document per line) and for people (tables). Nothing here
 * reads a backend: every answer is the server's, so authentication and tenant isolation are the
 * API's (a tenant's key sees its own requests; another tenant's id is "not found").
 *
 * Exit codes: remote/exit-codes.ts — 3 when the server refused (4xx, with its code and detail
 * on stderr), 4 when it could not be reached, 5 for a 5xx.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { errorOf, type RemoteApi } from '../remote/client.js';
import { addRemoteFlags, failRemote, remoteFrom, usage, type RemoteFlags } from '../remote/flags.js';
import { cell, keyValues, table } from '../remote/format.js';

interface GetFlags extends RemoteFlags {
  readonly wait?: string;
  readonly events?: boolean;
}

interface ListFlags extends RemoteFlags {
  readonly status?: string;
  readonly queue?: string;
  readonly tenant?: string;
  readonly since?: string;
  readonly until?: string;
  readonly limit?: string;
  readonly cursor?: string;
}

interface ReplayFlags extends RemoteFlags {
  readonly body?: string;
}

type Body = Record<string, unknown>;

export function registerRequestsCommand(program: Command): void {
  const requests = program.command('requests').description('read, find, cancel and replay requests on a running gateway (over its API; --url, --api-key or --token)');

  addRemoteFlags(
    requests
      .command('get')
      .argument('<id>', 'the correlation id')
      .description('a request\'s status and result (GET /api/v1/requests/{id}); exit 0 whatever state it is in')
      .option('--wait <seconds>', 'long-poll: wait up to this long for it to finish (at most api.max_wait_seconds)')
      .option('--events', 'also show its audit trail (GET /api/v1/requests/{id}/events)'),
  ).action(run(async (api, flags: GetFlags, id: string) => {
    const path = `/api/v1/requests/${encodeURIComponent(id)}`;
    const answer = await api.call('GET', path, { query: { wait: flags.wait }, timeoutMs: waitBudget(flags) });
    // The resource answers with its LRO status (4xx/5xx when it FAILED, TIMEOUT or was
    // CANCELLED), with the request as the body: that is a successful read, not an error.
    if (!isRequestBody(answer.body)) throw errorOf(answer);
    const trail = flags.events === true ? ((await api.expectOk('GET', `${path}/events`)) as Body) : undefined;
    if (flags.json === true) return printJson(trail === undefined ? answer.body : { ...answer.body, events: trail.events });
    print(keyValues(answer.body));
    if (trail !== undefined) print(['', ...eventsTable(trail.events)]);
  }));

  addRemoteFlags(
    requests
      .command('list')
      .description('find requests, newest first, a page at a time (GET /api/v1/requests)')
      .option('--status <status>', 'PENDING, PROCESSING, COMPLETED, FAILED, TIMEOUT or CANCELLED')
      .option('--queue <name>', 'a named queue (metadata.queue)')
      .option('--tenant <tenant>', 'admin only: one tenant\'s requests')
      .option('--since <time>', 'submitted at or after: ISO 8601 date or date-time with a zone')
      .option('--until <time>', 'submitted at or before')
      .option('--limit <n>', 'at most this many (default 50, at most 1000)')
      .option('--cursor <cursor>', 'the next page: the cursor the previous page printed'),
  ).action(run(async (api, flags: ListFlags) => {
    const { status, queue, tenant, since, until, limit, cursor } = flags;
    const page = (await api.expectOk('GET', '/api/v1/requests', { query: { status, queue, tenant, since, until, limit, cursor } })) as Body;
    if (flags.json === true) return printJson(page);
    const rows = asArray(page.requests).map((r) => [cell(r.correlation_id), cell(r.status), cell(r.submitted_at), cell(r.updated_at), typeof r.progress === 'number' ? `${r.progress}%` : '-']);
    print(rows.length === 0 ? ['no requests match'] : table(['CORRELATION_ID', 'STATUS', 'SUBMITTED_AT', 'UPDATED_AT', 'PROGRESS'], rows));
    // On stderr: stdout stays the table, and the next command is there to copy.
    if (typeof page.next_cursor === 'string') process.stderr.write(`more: add --cursor ${page.next_cursor}\n`);
  }));

  addRemoteFlags(
    requests
      .command('cancel')
      .argument('<id>', 'the correlation id')
      .description('cancel a request that has not finished (DELETE /api/v1/requests/{id}); exit 3 with HQM_ERR_ALREADY_FINISHED when it had'),
  ).action(run(async (api, flags: RemoteFlags, id: string) => {
    const record = (await api.expectOk('DELETE', `/api/v1/requests/${encodeURIComponent(id)}`)) as Body;
    if (flags.json === true) return printJson(record);
    print(keyValues(record));
  }));

  addRemoteFlags(
    requests
      .command('replay')
      .argument('<dead-letter-id>', 'the dead letter\'s id, <queue>:<id>, as GET /api/v1/dead-letters lists it')
      .description('replay a dead letter: its request runs again under the same correlation id (POST /api/v1/dead-letters/{id}/replay; admin)')
      .option('--body <file>', 'JSON {payload?, headers?, metadata?} replacing those of the request ("-" reads stdin)'),
  ).action(run(async (api, flags: ReplayFlags, id: string) => {
    const body = flags.body === undefined ? undefined : readJson(flags.body);
    const accepted = (await api.expectOk('POST', `/api/v1/dead-letters/${encodeURIComponent(id)}/replay`, body === undefined ? {} : { body })) as Body;
    if (flags.json === true) return printJson(accepted);
    print(keyValues(accepted));
  }));
}

/**
 * The action for a command: the client from its flags, and every error ended the same way.
 * Commander hands an action its arguments, then the flags, then the command.
 */
function run<F extends RemoteFlags, A extends unknown[]>(body: (api: RemoteApi, flags: F, ...args: A) => Promise<void>) {
  return async (...given: unknown[]): Promise<void> => {
    const command = given.at(-1) as Command;
    const flags = given.at(-2) as F;
    const args = given.slice(0, -2) as A;
    const api = remoteFrom(flags, command);
    try {
      await body(api, flags, ...args);
    } catch (error) {
      failRemote(error, flags.json);
    }
  };
}

/** A long-poll needs its wait on top of the usual deadline, or the CLI gives up first. */
function waitBudget(flags: GetFlags): number | undefined {
  if (flags.wait === undefined) return undefined;
  const seconds = Number(flags.wait);
  // A malformed value goes to the server as given: its 422 names the parameter.
  return Number.isFinite(seconds) && seconds > 0 ? Number(flags.timeoutMs) + seconds * 1000 : undefined;
}

function isRequestBody(body: unknown): body is Body {
  return typeof body === 'object' && body !== null && typeof (body as Body).correlation_id === 'string';
}

function eventsTable(events: unknown): string[] {
  const rows = asArray(events).map((e) => {
    const note = e.note as { kind?: unknown } | undefined;
    const what = note !== undefined ? `note: ${cell(note.kind)}` : `${cell(e.from)} -> ${cell(e.to)}${e.kind === undefined ? '' : ` (${cell(e.kind)})`}`;
    return [cell(e.at), what, cell(e.attempt), cell(e.worker_id), cell(e.error)];
  });
  return table(['AT', 'EVENT', 'ATTEMPT', 'WORKER', 'ERROR'], rows, new Set([2]));
}

function asArray(value: unknown): Body[] {
  return Array.isArray(value) ? value.filter((v): v is Body => typeof v === 'object' && v !== null) : [];
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    usage(`--body ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    usage(`--body ${file} is not JSON: ${(error as Error).message}`);
  }
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function print(lines: readonly string[]): void {
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * PostgreSQL for tests: the machine's server (postgres://postgres@127.0.0.1:5432/test, or
 * OPENHQM_TEST_POSTGRES_URL), with a schema of its own per suite (`testSchema`), dropped afterwards.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, IN_CI, requireServer } from './servers.js';

export const POSTGRES_URL = process.env.OPENHQM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Skip (or, under CI=true, fail) when the machine's PostgreSQL is not there. */
export function requirePostgres(): Promise<{ skip: string } | undefined> {
  const url = new URL(POSTGRES_URL);
  return requireServer('PostgreSQL', url.hostname, Number(url.port || 5432));
}

/** A schema name no other run uses (a plain identifier, as `postgres.schema` requires). */
export function testSchema(): string {
  return `hqm_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

/** Runs one statement on a connection of its own. */
export async function sql<R extends pg.QueryResultRow>(text: string, values: unknown[] = [], schema?: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }) });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
}

/** A PostgreSQL server of a test's own (for tests that stop it: the machine's is shared by other suites). */
export interface PrivatePostgres {
  readonly url: string;
  /** `pg_ctl stop -m fast`: every connection is cut, transactions in flight roll back. */
  stop(): void;
  start(): void;
  /** Stops it for good and removes its files. */
  destroy(): void;
}

/**
 * Starts a private cluster in `dir` on a free loopback port, with Debian's server binaries, as
 * the `postgres` user (initdb refuses root). Skip (or, under CI=true, fail) without them.
 */
export async function startPrivatePostgres(dir: string): Promise<PrivatePostgres | { skip: string }> {
  const bin = postgresBin();
  const asRoot = process.getuid?.() === 0;
  if (bin === undefined || !asRoot) {
    const reason = 'a private PostgreSQL cannot be started here (needs root and the server binaries of Debian\'s postgresql package)';
    if (IN_CI) throw new Error(`${reason} (CI=true: a missing server is a failure)`);
    return { skip: reason };
  }
  const data = join(dir, 'pgdata');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const run = (args: string[]): void => {
    const done = spawnSync('runuser', ['-u', 'postgres', '--', ...args], { encoding: 'utf8', timeout: 60_000 });
    if (done.status !== 0) throw new Error(`${args.slice(0, 2).join(' ')} failed: ${done.stderr || done.stdout}`);
  };
  spawnSync('chown', ['-R', 'postgres', dir]);
  run([join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off`;
  const start = (): void => run([join(bin, 'pg_ctl'), '-D', data, '-o', options, '-l', join(dir, 'postgres.log'), '-w', 'start']);
  const stop = (): void => run([join(bin, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop']);
  start();
  let running = true;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => {
      stop();
      running = false;
    },
    start: () => {
      start();
      running = true;
    },
    destroy: () => {
      if (running) stop();
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The newest installed server's bin directory (/usr/lib/postgresql/<version>/bin). */
function postgresBin(): string | undefined {
  try {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    const found = versions.map((v) => join('/usr/lib/postgresql', v, 'bin')).find((b) => existsSync(join(b, 'initdb')));
    return found;
  } catch {
    return undefined;
  }
}

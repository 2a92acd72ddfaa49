/**
 * Runs the real `openhqm` CLI (the built dist/, as `npm start` does) as a child process and
 * talks HTTP to it. Every process started here is killed after the test file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { waitFor } from './wait.js';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

const running = new Set<ChildProcess>();
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
});

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class CliProcess {
  readonly output: string[] = [];
  readonly exited: Promise<Exit>;
  #url: string | undefined;

  constructor(readonly child: ChildProcess) {
    running.add(child);
    const collect = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') this.#record(line);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = once(child, 'exit').then(([code, signal]) => {
      running.delete(child);
      return { code: code as number | null, signal: signal as NodeJS.Signals | null };
    });
  }

  get url(): string {
    if (this.#url === undefined) throw new Error('the process has not reported its URL');
    return this.#url;
  }

  /** Resolves when the process says it is ready (listening, or the worker started). */
  async ready(timeoutMs = 20_000): Promise<this> {
    const exited = this.exited.then((exit) => {
      throw new Error(`openhqm exited (${exit.code ?? exit.signal}) before it was ready:\n${this.output.join('\n')}`);
    });
    await Promise.race([exited, waitFor(() => this.output.some((l) => /OpenHQM (listening|worker running)/.test(l)), { timeoutMs, what: 'openhqm to start' })]);
    return this;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  #record(line: string): void {
    this.output.push(line);
    try {
      const parsed = JSON.parse(line) as { url?: unknown };
      if (typeof parsed.url === 'string') this.#url = parsed.url;
    } catch {
      // Not a JSON log line (stderr text): kept in output for diagnostics.
    }
  }
}

/**
 * Starts `openhqm <args>` with JSON logs on a free port. The event-loop guard is off unless a
 * test sets it: on a shared CI machine it measures the machine (a process starved of CPU for a
 * whole sample interval reads as an infinite delay and answers 503), not the code under test.
 */
export function startCli(args: readonly string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: {
      ...process.env,
      OPENHQM_SERVER__HOST: '127.0.0.1',
      OPENHQM_SERVER__PORT: '0',
      OPENHQM_MONITORING__LOG_FORMAT: 'json',
      OPENHQM_API__MAX_EVENT_LOOP_DELAY_MS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new CliProcess(child);
}

/** Runs a short CLI command to completion (in `cwd`, where given: paths in the configuration are relative to it). */
export async function runCli(args: readonly string[], env: Record<string, string> = {}, cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

export async function submit(url: string, payload: unknown, metadata?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/api/v1/submit`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ payload, metadata }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Polls /response until the request is terminal, using the long-poll to avoid busy loops. */
export async function finished(url: string, id: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  return waitFor(
    async () => {
      const res = await getJson(`${url}/api/v1/response/${id}?wait=5`);
      return res.status === 200 ? res.body : undefined;
    },
    { timeoutMs, what: `request ${id} to finish` },
  );
}

/**
 * The container health check (`node dist/cli/commands/healthcheck.js`, the Dockerfile's
 * HEALTHCHECK) run directly with node against real `openhqm` processes, from a clean
 * environment in another directory, as Docker runs it next to the container's main process:
 * whatever it knows about the server it reads from that process (/proc/<pid>).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, CliProcess } from '../helpers/cli.js';
import { freePort } from '../helpers/servers.js';
import { tempDir } from '../helpers/temp.js';

const HEALTHCHECK = fileURLToPath(new URL('../../dist/cli/commands/healthcheck.js', import.meta.url));
const dir = tempDir();
const onLinux = process.platform === 'linux'; // The check reads the server's command line from /proc.

/** Runs the health check with nothing of the server's set-up: no OPENHQM_* variables, another directory. */
async function healthcheck(args: readonly string[], script = [HEALTHCHECK]): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, [...script, ...args], { cwd: '/', env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stdout += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout };
}

/** `openhqm <args>` started in `cwd`, with JSON logs. */
function startIn(cwd: string, args: readonly string[], env: Record<string, string>): CliProcess {
  return new CliProcess(spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, OPENHQM_MONITORING__LOG_FORMAT: 'json', ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** A process that is not OpenHQM, for checks that must fall back to their own flags. */
const bystander = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
afterAll(() => {
  bystander.kill('SIGKILL');
});

async function published(url: string): Promise<number> {
  const text = await (await fetch(url)).text();
  return [...text.matchAll(/^openhqm_queue_publish_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

describe('openhqm healthcheck', () => {
  it.runIf(onLinux)('reads the control prefix from the config file, the port from the flags, and asks only the health route', async () => {
    // As in deploy/kubernetes/overlays/sidecar: capture on and the prefix set in the file, not in the environment.
    writeFileSync(join(dir, 'openhqm.yaml'), 'proxy:\n  enabled: true\n  default_endpoint: http://127.0.0.1:9\n  capture:\n    enabled: true\n    control_prefix: /_openhqm\n');
    const port = await freePort();
    const server = startIn(dir, ['api', '--config', 'openhqm.yaml', '--port', String(port), '--host', '127.0.0.1'], { OPENHQM_SQLITE__PATH: join(dir, 'api.db') });
    try {
      await server.ready();
      const pid = String(server.child.pid);
      const metrics = `http://127.0.0.1:${port}/_openhqm/metrics`;

      const check = await healthcheck(['--pid', pid]);
      expect(check).toEqual({ code: 0, stdout: `healthy: http://127.0.0.1:${port}/_openhqm/health/live answered 200\n` });
      // The same check through the CLI.
      expect((await healthcheck(['healthcheck', '--pid', pid], [CLI])).code).toBe(0);
      // Nothing was captured: no request reached the queue, so none will reach the application.
      expect(await published(metrics)).toBe(0);

      // What the old HEALTHCHECK did (no prefix): a captured request, answered 202. Not healthy.
      const unprefixed = await healthcheck(['--pid', String(bystander.pid), '--port', String(port)]);
      expect(unprefixed.code).toBe(1);
      expect(unprefixed.stdout).toMatch(/^unhealthy: http:\/\/127\.0\.0\.1:\d+\/health\/live answered 202 — a captured request/);
      expect(await published(metrics)).toBe(1);
    } finally {
      server.kill('SIGKILL');
    }
  });

  it.runIf(onLinux)('calls a running `openhqm worker` healthy, which has no listener, and a stopped one not', async () => {
    const worker = startIn(dir, ['worker'], { OPENHQM_SQLITE__PATH: join(dir, 'worker.db') });
    let pid = '';
    try {
      await worker.ready();
      pid = String(worker.child.pid);
      const check = await healthcheck(['--pid', pid]);
      expect(check.code).toBe(0);
      expect(check.stdout).toBe(`healthy: openhqm worker (pid ${pid}) is running; it serves no request API to ask\n`);
    } finally {
      worker.kill('SIGKILL');
    }
    await worker.exited;
    const port = await freePort();
    const gone = await healthcheck(['--pid', pid, '--port', String(port)]);
    expect(gone.code).toBe(1);
    expect(gone.stdout).toMatch(/^unhealthy: .* no answer \(ECONNREFUSED\)$/m);
  });

  it('fails with exit code 1, never 2 (reserved by Docker), when the configuration is invalid', async () => {
    const check = await healthcheck(['--pid', String(bystander.pid), '--set', 'server.port=not-a-port']);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/^unhealthy: invalid configuration/);
  });

  it('is the Dockerfile HEALTHCHECK', () => {
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    expect(dockerfile).toMatch(/^HEALTHCHECK [^\n]*\\\n\s+CMD \["node", "\/app\/dist\/cli\/commands\/healthcheck\.js"\]$/m);
  });
});

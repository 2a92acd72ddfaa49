/**
 * SQS for tests: a moto server of the test's own (`moto_server -H 127.0.0.1 -p PORT`), started on
 * a free port and killed afterwards, so its queues go with it. moto comes from PyPI, which CI cannot
 * reach: a machine without it skips these tests, or fails them under CI=true.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort, IN_CI, reachable } from './servers.js';

// moto accepts any credentials; the SDK's default chain must find some.
process.env.AWS_ACCESS_KEY_ID ??= 'testing';
process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';

/** moto's account: every queue url it gives is under it. */
export const MOTO_ACCOUNT = '123456789012';

export interface Moto {
  readonly port: number;
  readonly endpoint: string;
  /** The url of a queue named `name` on this server (whether or not it exists yet). */
  queueUrl(name: string, endpoint?: string): string;
  stop(): Promise<void>;
}

/** moto_server's path, or undefined when it is not installed. */
export function motoBin(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status === 0 && path !== '') return path;
  return existsSync('/root/.pyenv/shims/moto_server') ? '/root/.pyenv/shims/moto_server' : undefined;
}

/** A moto server of the caller's own; skip (or fail under CI=true) when moto_server is not installed. */
export async function startMoto(): Promise<Moto | { skip: string }> {
  const bin = motoBin();
  if (bin === undefined) {
    const reason = 'moto_server (Python package moto[server]) is not installed';
    if (IN_CI) throw new Error(`${reason} (CI=true: a missing server is a failure)`);
    return { skip: `${reason}; install it to run the SQS tests` };
  }
  const port = await freePort();
  const child: ChildProcess = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'ignore'] });
  let exited = false;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void gone.then(() => (exited = true));
  const deadline = Date.now() + 30_000;
  while (!(await reachable('127.0.0.1', port, 200))) {
    if (exited) throw new Error(`moto_server on port ${port} exited at start`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server on port ${port} did not start within 30 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    port,
    endpoint,
    queueUrl: (name, base = endpoint) => `${base}/${MOTO_ACCOUNT}/${name}`,
    stop: async () => {
      if (!exited) child.kill('SIGKILL');
      await gone;
    },
  };
}

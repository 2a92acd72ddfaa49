/** Starting and stopping the processes a benchmark measures, and sampling their memory. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface Server {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Spawns `node <args>` and resolves once it logs a line with a `url` (or "worker running"). */
export async function startServer(args: readonly string[], env: Record<string, string> = {}, nodeArgs: readonly string[] = []): Promise<Server> {
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    env: { ...process.env, OPENHQM_SERVER__HOST: '127.0.0.1', OPENHQM_SERVER__PORT: '0', OPENHQM_MONITORING__LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() === '') continue;
        lines.push(line);
        try {
          const parsed = JSON.parse(line) as { url?: string; msg?: string };
          if (typeof parsed.url === 'string') return resolve(parsed.url);
          if (parsed.msg?.includes('worker running') === true) return resolve('');
        } catch {
          // Plain text output: kept for the error message.
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c: Buffer) => lines.push(c.toString()));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${lines.join('\n')}`)));
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** Samples a process's resident memory until stopped; reports the peak in MiB. */
export function sampleRss(pid: number, everyMs = 100): { stop(): number } {
  let peak = 0;
  const read = (): void => {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match?.[1] !== undefined) peak = Math.max(peak, Number(match[1]) / 1024);
    } catch {
      // The process is gone.
    }
  };
  read();
  const timer = setInterval(read, everyMs);
  return {
    stop() {
      clearInterval(timer);
      read();
      return peak;
    },
  };
}

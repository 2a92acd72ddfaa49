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

/**
 * Spawns `node <args>` and resolves once it logs a line with a `url` (or "worker running"); with
 * OPENHQM_SERVER__PROCESSES above 1 (`npm run bench -- --processes N`), once the primary says
 * every process is ready.
 */
export async function startServer(args: readonly string[], env: Record<string, string> = {}, nodeArgs: readonly string[] = []): Promise<Server> {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, OPENHQM_SERVER__HOST: '127.0.0.1', OPENHQM_SERVER__PORT: '0', OPENHQM_MONITORING__LOG_FORMAT: 'json', ...env };
  // Only the openhqm CLI forks; the anchors and the upstream ignore the variable.
  const clustered = args[0] === CLI && (fullEnv.OPENHQM_SERVER__PROCESSES ?? '1') !== '1';
  const child = spawn(process.execPath, [...nodeArgs, ...args], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let first: string | undefined;
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() === '') continue;
        lines.push(line);
        try {
          const parsed = JSON.parse(line) as { url?: string; msg?: string };
          if (clustered) {
            if (typeof parsed.url === 'string') first ??= parsed.url;
            if (parsed.msg?.includes('worker running') === true) first ??= '';
            if (/^all \d+ processes ready$/.test(parsed.msg ?? '') && first !== undefined) return resolve(first);
            continue;
          }
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

/** Samples a process's resident memory, with its children's (--processes N), until stopped; reports the peak in MiB. */
export function sampleRss(pid: number, everyMs = 100): { stop(): number } {
  let peak = 0;
  const rssOf = (of: number): number => {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${of}/status`, 'utf8'));
      return match?.[1] === undefined ? 0 : Number(match[1]) / 1024;
    } catch {
      return 0; // The process is gone.
    }
  };
  const childrenOf = (of: number): number[] => {
    try {
      return readFileSync(`/proc/${of}/task/${of}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return []; // Gone, or a kernel without the children file: the process alone.
    }
  };
  const read = (): void => {
    peak = Math.max(peak, [pid, ...childrenOf(pid)].reduce((sum, p) => sum + rssOf(p), 0));
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

/** Node flags that write a CPU profile named `name` to `dir` (`npm run bench -- --profile`); none without a dir. */
export function cpuProfileArgs(dir: string | undefined, name: string): string[] {
  return dir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`];
}

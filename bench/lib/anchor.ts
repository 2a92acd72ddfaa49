/** Runs an anchor (a competitor's add + process, bench/*-anchor.ts) as its own Node process. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** Runs `node --import tsx <script>` with `env` added and resolves with the last JSON line it prints. */
export async function runAnchor<T>(name: string, script: string, env: Record<string, string>): Promise<T> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the ${name} anchor exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as T;
}

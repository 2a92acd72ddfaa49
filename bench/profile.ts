/**
 * `node --import tsx bench/profile.ts <file.cpuprofile> [top] [--after <seconds>]`: what a CPU
 * profile of `npm run bench -- --profile` (or any `node --cpu-prof`) says — the functions with
 * the most self time, and the time by area (a package, a folder of dist/, Node's own modules, GC,
 * idle). Percentages are of the busy time (idle excluded). `--after` leaves out the first
 * seconds (start-up and warm-up), which weigh more the fewer requests the run served. The profiler samples wall time, so a
 * function that makes a system call waking another process on the same core (a socket write
 * on loopback) also carries the time that process ran: read those lines with that in mind.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const { positionals, values } = parseArgs({ allowPositionals: true, options: { after: { type: 'string', default: '0' } } });
const [file, topArg] = positionals;
if (file === undefined) throw new Error('usage: node --import tsx bench/profile.ts <file.cpuprofile> [top] [--after <seconds>]');
const top = Number(topArg ?? 30);
const skipUs = Number(values.after) * 1e6;
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));

const selfTime = new Map<number, number>();
let elapsed = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  elapsed += delta;
  if (elapsed >= skipUs) selfTime.set(id, (selfTime.get(id) ?? 0) + delta);
});

const name = (node: ProfileNode): string => {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^.*\/(node_modules|dist)\//, '$1/');
  return where === '' ? functionName || '(anonymous)' : `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
};
const area = (node: ProfileNode): string => {
  const { functionName, url } = node.callFrame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1] !== undefined) return pkg[1];
  const own = /\/dist\/(.+)\/[^/]+$/.exec(url);
  if (own?.[1] !== undefined) return `openhqm ${own[1]}`;
  return url.startsWith('node:') ? url.split('/').slice(0, 2).join('/') : url;
};

const functions = new Map<string, number>();
const areas = new Map<string, number>();
let busy = 0;
for (const [id, time] of selfTime) {
  const node = byId.get(id) as ProfileNode;
  if (node.callFrame.functionName === '(idle)') continue;
  busy += time;
  functions.set(name(node), (functions.get(name(node)) ?? 0) + time);
  areas.set(area(node), (areas.get(area(node)) ?? 0) + time);
}

const print = (title: string, times: Map<string, number>, count: number): void => {
  process.stdout.write(`\n${title}\n`);
  for (const [what, time] of [...times].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    process.stdout.write(`${((100 * time) / busy).toFixed(1).padStart(6)}%  ${what}\n`);
  }
};
process.stdout.write(`${file}: ${(busy / 1e6).toFixed(2)} s busy\n`);
print('self time by function', functions, top);
print('self time by area', areas, 20);

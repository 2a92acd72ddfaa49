/**
 * A custom backend tested the way its author would: examples/custom-queue copied into a project
 * outside the source tree, with the packed openhqm (`npm pack`, unpacked into node_modules as
 * npm places it, no network) and vitest, running `openhqm/conformance` through vitest there. The
 * example passes; the same example with ack broken fails. Only vitest is linked from the
 * repository: the public entry points need none of the gateway's dependencies, which this proves
 * too. Needs `npm run build` first, as the e2e tests do.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = join(ROOT, 'examples/custom-queue');

interface Report {
  readonly success: boolean;
  readonly testResults: ReadonlyArray<{ readonly name: string; readonly assertionResults: ReadonlyArray<{ readonly title: string; readonly status: string }> }>;
}

/** The user's project: the example's files, openhqm from its tarball, vitest linked. */
function makeProject(dir: string): string {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const [packed] = JSON.parse(execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' })) as Array<{ filename: string }>;
  const project = join(dir, 'project');
  const installed = join(project, 'node_modules', 'openhqm');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(dir, packed!.filename), '-C', installed, '--strip-components=1']);
  symlinkSync(join(ROOT, 'node_modules', 'vitest'), join(project, 'node_modules', 'vitest'), 'dir');
  for (const name of ['package.json', 'queue.js', 'queue.test.js']) copyFileSync(join(EXAMPLE, name), join(project, name));
  // The same backend with a bug a conformance suite is for: a release counts as an attempt, so
  // a worker handing messages back at shutdown would burn their retries.
  const broken = readFileSync(join(EXAMPLE, 'queue.js'), 'utf8').replace('message.attempts -= 1;', '');
  expect(broken).not.toBe(readFileSync(join(EXAMPLE, 'queue.js'), 'utf8'));
  writeFileSync(join(project, 'broken.js'), broken);
  writeFileSync(join(project, 'broken.test.js'), readFileSync(join(EXAMPLE, 'queue.test.js'), 'utf8').replace("'./queue.js'", "'./broken.js'"));
  return project;
}

/** `vitest run` in the project, as `npm test` there runs it, with a JSON report. */
async function runVitest(project: string): Promise<Report> {
  // The outer vitest's own variables would make the inner one think it is a worker of it.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST') && key !== 'NODE_OPTIONS'));
  const child = spawn(process.execPath, [join(project, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=json', '--outputFile=report.json'], { cwd: project, env, stdio: 'ignore' });
  await once(child, 'exit');
  return JSON.parse(readFileSync(join(project, 'report.json'), 'utf8')) as Report;
}

describe('a custom backend outside the source tree', () => {
  it('passes openhqm/conformance from the packed package, and a broken copy of it fails', async () => {
    const report = await runVitest(makeProject(tempDir()));
    const file = (name: string) => report.testResults.find((r) => r.name.endsWith(`/${name}`));
    const good = file('queue.test.js');
    const bad = file('broken.test.js');
    expect(good?.assertionResults.length).toBeGreaterThan(20);
    expect(good?.assertionResults.filter((t) => t.status === 'failed')).toEqual([]);
    expect(good?.assertionResults.filter((t) => t.status === 'passed').length).toBeGreaterThan(20);
    expect(bad?.assertionResults.filter((t) => t.status === 'failed').map((t) => t.title)).toContain(
      'twenty releases and then an ack: the count moves only as the backend counts releases (never, where they are given back), and the ack ends the message',
    );
    expect(report.success).toBe(false);
  }, 120_000);
});

/**
 * What `npm pack` ships: the built dashboard goes with the gateway (no CDN, nothing to build at
 * install), the documentation's screenshots stay in the repository. Needs `npm run build` first,
 * as the e2e tests do.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('the package', () => {
  it('carries the built dashboard and its server, not the dashboard sources or the screenshots', () => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const [packed] = JSON.parse(execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' })) as Array<{ files: Array<{ path: string }> }>;
    const files = packed!.files.map((f) => f.path);
    expect(files).toContain('dist/dashboard/plugin.js');
    expect(files).toContain('dist/dashboard/static/index.html');
    expect(files.some((f) => /^dist\/dashboard\/static\/assets\/index-[\w-]+\.js$/.test(f))).toBe(true);
    expect(files.some((f) => /^dist\/dashboard\/static\/assets\/index-[\w-]+\.css$/.test(f))).toBe(true);
    expect(files).toContain('docs/dashboard.md');
    expect(files.filter((f) => f.startsWith('docs/images/') || f.startsWith('dashboard/'))).toEqual([]);
  });
});

/**
 * The example custom backend (examples/custom-queue) in a project directory of its own, as a
 * user's project holds it: its queue.js beside a package.json, and openhqm in node_modules (a
 * link to this repository, whose package exports resolve `openhqm/ports` to the build).
 */
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Makes the project under `dir`; returns its directory (the module is `<it>/queue.js`). */
export function exampleProject(dir: string): string {
  const project = join(dir, 'project');
  mkdirSync(join(project, 'node_modules'), { recursive: true });
  symlinkSync(ROOT, join(project, 'node_modules', 'openhqm'), 'dir');
  copyFileSync(join(ROOT, 'examples/custom-queue/queue.js'), join(project, 'queue.js'));
  writeFileSync(join(project, 'package.json'), '{ "type": "module" }\n');
  return project;
}

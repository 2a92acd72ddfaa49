/**
 * The package as published: it builds with the repository's TypeScript and its own tsconfig to
 * ESM with declarations, the entry points package.json names exist, it declares no dependency,
 * and the built module loads in Node and works without anything else installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/temp.js';
import type * as Client from '../src/index.js';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as Record<string, unknown>;

describe('@openhqm/client as published', () => {
  it('declares no dependencies of any kind', () => {
    for (const kind of ['dependencies', 'peerDependencies', 'optionalDependencies', 'bundleDependencies']) expect(manifest[kind], kind).toBeUndefined();
    expect(manifest).toMatchObject({ name: '@openhqm/client', type: 'module' });
  });

  it('builds to ESM with declarations where package.json points, and the built module loads and verifies a webhook', async () => {
    const out = tempDir('openhqm-client-build-');
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const build = spawnSync(process.execPath, [tsc, '-p', join(PACKAGE, 'tsconfig.json'), '--outDir', out], { encoding: 'utf8' });
    expect(build.stdout + build.stderr).toBe('');
    expect(build.status).toBe(0);
    const exports = (manifest.exports as Record<string, { types: string; import: string }>)['.']!;
    const inOut = (path: string) => join(out, path.replace(/^\.\/dist\//, ''));
    expect(existsSync(inOut(exports.types))).toBe(true);
    expect(readFileSync(inOut(exports.types), 'utf8')).toContain('OpenHqmClient');
    const built = (await import(pathToFileURL(inOut(exports.import)).href)) as typeof Client;
    expect(Object.keys(built).sort()).toEqual(expect.arrayContaining(['OpenHqmClient', 'OpenHqmError', 'SseParser', 'STATUSES', 'verifyWebhook', 'WebhookVerificationError']));
    const { Webhook } = await import('standardwebhooks');
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const body = '{"event":"request.completed","correlation_id":"x"}';
    const at = new Date();
    const headers = { 'webhook-id': 'msg_x', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign('msg_x', at, body) };
    await expect(built.verifyWebhook(body, headers, secret)).resolves.toMatchObject({ correlation_id: 'x' });
  }, 60_000);
});

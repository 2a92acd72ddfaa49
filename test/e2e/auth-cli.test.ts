/**
 * Authentication through the real CLI: a key made by `openhqm keys create`, secrets given by
 * file that never show in logs or `config check`, HTTPS, and the start-up warning for an open API.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../helpers/cli.js';
import { freePort } from '../helpers/servers.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const dir = tempDir('openhqm-auth-cli-');
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const JWT_SECRET = 'jwt-secret-from-a-file-0123456789-abcdef';
const INLINE_KEY = 'inline-key-from-a-file-0123456789';

async function createKey(tenant: string): Promise<{ key: string; entry: string }> {
  const made = await runCli(['keys', 'create', '--tenant', tenant, '--id', `${tenant}-key`]);
  expect(made.code).toBe(0);
  const lines = made.stdout.trim().split('\n');
  const key = lines[1] ?? '';
  const entry = lines.find((l) => l.startsWith('- {')) ?? '';
  expect(key).toMatch(/^hqm_[A-Za-z0-9_-]{43}$/);
  expect(entry).not.toContain(key);
  return { key, entry };
}

describe('openhqm with auth.enabled', () => {
  it('serves a key made by `keys create`; no secret given by file shows in config check or the logs', async () => {
    const acme = await createKey('acme');
    const env = {
      OPENHQM_AUTH__ENABLED: 'true',
      OPENHQM_AUTH__API_KEYS_FILE: file('keys.yaml', `${acme.entry}\n`),
      OPENHQM_AUTH__API_KEYS: JSON.stringify([{ id: 'inline', key_file: file('inline.key', `${INLINE_KEY}\n`), tenant: 'globex' }]),
      OPENHQM_AUTH__JWT__SECRET_FILE: file('jwt.secret', JWT_SECRET),
      OPENHQM_QUEUE__TYPE: 'memory',
      OPENHQM_CACHE__TYPE: 'memory',
      OPENHQM_MONITORING__LOG_LEVEL: 'debug',
    };
    const check = await runCli(['config', 'check', '--json'], env);
    expect(check.code, check.stderr).toBe(0);
    for (const secret of [JWT_SECRET, INLINE_KEY, acme.key]) {
      expect(check.stdout).not.toContain(secret);
      expect(check.stderr).not.toContain(secret);
    }
    expect(JSON.parse(check.stdout).auth.jwt.secret).toBe('****');

    const server = await startCli(['start'], env).ready();
    const submit = (headers: Record<string, string>) =>
      fetch(`${server.url}/api/v1/submit`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ payload: { operation: 'echo' } }) });
    expect((await submit({ authorization: `Bearer ${acme.key}` })).status).toBe(202);
    expect((await submit({ 'x-api-key': INLINE_KEY })).status).toBe(202);
    // Secrets presented where they do not belong are refused, and not repeated anywhere.
    for (const wrong of [JWT_SECRET, `${acme.key}x`, 'eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnQiOiJhY21lIn0.c2lnbmF0dXJl']) {
      const res = await submit({ authorization: `Bearer ${wrong}` });
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain(wrong);
    }
    expect((await fetch(`${server.url}/health/ready`)).status).toBe(200);
    server.kill('SIGTERM');
    await server.exited;
    const log = server.output.join('\n');
    expect(log).toMatch(/OpenHQM listening/);
    for (const secret of [JWT_SECRET, INLINE_KEY, acme.key]) expect(log).not.toContain(secret);
    // Authentication is on: no warning about an open API.
    expect(log).not.toMatch(/auth\.enabled is off/);
  });

  it('warns at start-up when auth is off and the API listens beyond loopback', async () => {
    const server = await startCli(['start'], { OPENHQM_SERVER__HOST: '0.0.0.0', OPENHQM_QUEUE__TYPE: 'memory', OPENHQM_CACHE__TYPE: 'memory' }).ready();
    await waitFor(() => server.output.some((l) => /auth\.enabled is off and the API listens on 0\.0\.0\.0/.test(l)), { what: 'the warning' });
    const line = JSON.parse(server.output.find((l) => l.includes('auth.enabled is off')) ?? '{}') as { level?: unknown };
    expect(line.level).toBe('warn');
    server.kill('SIGTERM');
    await server.exited;
  });
});

describe('openhqm with server.tls', () => {
  const openssl = (() => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!openssl)('serves HTTPS with the given certificate, and the health check speaks it', async () => {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=openhqm.test'], { stdio: 'ignore' });
    const port = await freePort();
    const env = { OPENHQM_SERVER__TLS__CERT_FILE: cert, OPENHQM_SERVER__TLS__KEY_FILE: key, OPENHQM_SERVER__PORT: String(port), OPENHQM_QUEUE__TYPE: 'memory', OPENHQM_CACHE__TYPE: 'memory' };
    const server = await startCli(['start'], env).ready();
    expect(server.url).toBe(`https://127.0.0.1:${port}`);
    const res = await undiciFetch(`${server.url}/health/live`, { dispatcher: new Agent({ connect: { rejectUnauthorized: false } }) });
    expect(res.status).toBe(200);
    const health = await runCli(['healthcheck', '--pid', '999999999'], { ...env, OPENHQM_SERVER__HOST: '127.0.0.1' });
    expect(health.stdout + health.stderr).toMatch(/https:\/\/127\.0\.0\.1:\d+\/health\/live answered 200/);
    expect(health.code).toBe(0);
    server.kill('SIGTERM');
    await server.exited;
  });

  it('refuses a key that does not belong to the certificate, at start-up and in config check (exit 2)', async () => {
    if (!openssl) return;
    const cert = join(dir, 'cert2.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'unused.pem'), '-out', cert, '-days', '1', '-subj', '/CN=x'], { stdio: 'ignore' });
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-out', join(dir, 'other.pem')], { stdio: 'ignore' });
    const env = { OPENHQM_SERVER__TLS__CERT_FILE: cert, OPENHQM_SERVER__TLS__KEY_FILE: join(dir, 'other.pem') };
    const check = await runCli(['config', 'check'], env);
    expect(check.code).toBe(2);
    expect(check.stderr).toMatch(/server\.tls: the certificate and key cannot be used/);
  });
});

import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { loadConfig } from './load.js';
import { maskSecrets } from './mask.js';

const dir = mkdtempSync(join(tmpdir(), 'openhqm-auth-config-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ env });
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  return [];
}

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const SECRET = 'a-shared-secret-of-at-least-32-characters!';

describe('auth.jwt: which algorithms go with which key is a start-up rule', () => {
  it('refuses HS algorithms with a public key or a JWKS, and public-key algorithms with a secret; never none', () => {
    const pem = file('public.pem', PUBLIC_PEM);
    expect(problems({ OPENHQM_AUTH__JWT__PUBLIC_KEY_FILE: pem, OPENHQM_AUTH__JWT__ALGORITHMS: 'RS256,HS256' })).toEqual([expect.stringMatching(/^auth\.jwt\.algorithms: HS256 cannot be used: a public key or JWKS verifies only/)]);
    expect(problems({ OPENHQM_AUTH__JWT__JWKS_URL: 'https://idp/jwks', OPENHQM_AUTH__JWT__ALGORITHMS: 'none' })).toEqual([expect.stringMatching(/^auth\.jwt\.algorithms: none cannot be used/)]);
    expect(problems({ OPENHQM_AUTH__JWT__SECRET: SECRET, OPENHQM_AUTH__JWT__ALGORITHMS: 'HS256,RS256' })).toEqual([expect.stringMatching(/^auth\.jwt\.algorithms: RS256 cannot be used: a shared secret verifies only HS256/)]);
    expect(problems({ OPENHQM_AUTH__JWT__SECRET: SECRET, OPENHQM_AUTH__JWT__ALGORITHMS: 'none' })).toHaveLength(1);
  });

  it('takes one key source, a real public key (not a private one), and a secret long enough for HMAC', () => {
    expect(problems({ OPENHQM_AUTH__JWT__SECRET: SECRET, OPENHQM_AUTH__JWT__JWKS_URL: 'https://idp/jwks' })).toEqual([expect.stringMatching(/set one of jwks_url, public_key and secret/)]);
    expect(problems({ OPENHQM_AUTH__JWT__PUBLIC_KEY: PRIVATE_PEM })).toEqual([expect.stringMatching(/^auth\.jwt\.public_key: expected a public key/)]);
    expect(problems({ OPENHQM_AUTH__JWT__PUBLIC_KEY: 'not a pem' })).toHaveLength(1);
    const short = problems({ OPENHQM_AUTH__JWT__SECRET: 'short-secret' });
    expect(short).toEqual([expect.stringMatching(/^auth\.jwt\.secret: too short/)]);
    expect(short.join()).not.toContain('short-secret');
  });

  it('refuses auth.enabled with no way to pass, and capture.require_auth without auth', () => {
    expect(problems({ OPENHQM_AUTH__ENABLED: 'true' })).toEqual([expect.stringMatching(/^auth\.enabled: no credential could ever pass/)]);
    expect(problems({ OPENHQM_PROXY__CAPTURE__REQUIRE_AUTH: 'true' })).toEqual([expect.stringMatching(/^proxy\.capture\.require_auth: needs auth\.enabled/)]);
  });
});

describe('auth.api_keys', () => {
  it('keeps only the SHA-256 of a plain key, and never repeats a key in an error', () => {
    const { config } = loadConfig({ env: { OPENHQM_AUTH__API_KEYS: JSON.stringify([{ id: 'a', key: 'plain-key-0123456789abcdef', tenant: 'acme' }]) } });
    expect(config.auth.api_keys).toEqual([{ id: 'a', key_sha256: expect.stringMatching(/^[0-9a-f]{64}$/), tenant: 'acme', roles: ['submit'] }]);
    expect(JSON.stringify(config)).not.toContain('plain-key-0123456789abcdef');
    const bad = problems({ OPENHQM_AUTH__API_KEYS: JSON.stringify([{ id: 'b', key: 'tiny-key-9', tenant: 'acme' }, { id: 'c', key: 1234567890123456, tenant: 'acme' }]) });
    expect(bad).toEqual([expect.stringMatching(/^auth\.api_keys\.0\.key: too short/), expect.stringMatching(/^auth\.api_keys\.1\.key: expected a string/)]);
    expect(bad.join()).not.toMatch(/tiny-key-9|1234567890123456/);
  });

  it('needs a tenant unless the key is an admin\'s, and unique ids and keys', () => {
    const key = (id: string, extra: object) => ({ id, key_sha256: 'a'.repeat(64), ...extra });
    expect(problems({ OPENHQM_AUTH__API_KEYS: JSON.stringify([key('x', { roles: ['submit'] })]) })).toEqual([expect.stringMatching(/^auth\.api_keys\.0\.tenant: required unless/)]);
    expect(problems({ OPENHQM_AUTH__API_KEYS: JSON.stringify([key('x', { roles: ['admin'] })]) })).toEqual([]);
    expect(problems({ OPENHQM_AUTH__API_KEYS: JSON.stringify([key('x', { tenant: 't' }), key('x', { tenant: 't', key_sha256: 'b'.repeat(64) })]) })).toEqual([expect.stringMatching(/id x is used twice/)]);
    expect(problems({ OPENHQM_AUTH__API_KEYS: JSON.stringify([key('x', { tenant: 't' }), key('y', { tenant: 't' })]) })).toEqual([expect.stringMatching(/same key as an earlier entry/)]);
    expect(problems({ OPENHQM_AUTH__API_KEYS: JSON.stringify([key('x', { tenant: 't', roles: ['root'] })]) })).toEqual([expect.stringMatching(/roles\.0: expected one of read, submit, admin/)]);
  });
});

describe('secrets from files', () => {
  it('reads *_file for every auth secret, trimmed, also inside the list of keys', () => {
    const secret = file('jwt-secret', `  ${SECRET}\n\n`);
    const key = file('api-key', 'file-key-0123456789abcdef\n');
    const yaml = file('auth.yaml', `auth:\n  enabled: true\n  api_keys:\n    - id: from-file\n      key_file: ${key}\n      tenant: acme\n  jwt:\n    secret_file: ${secret}\n`);
    const { config } = loadConfig({ env: { OPENHQM_CONFIG: yaml } });
    expect(config.auth.jwt.secret).toBe(SECRET);
    expect(config.auth.api_keys[0]?.key_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(config)).not.toContain('file-key-0123456789abcdef');
  });

  it('reads key_file inside a list given as text in the environment', () => {
    const key = file('env-key', 'env-list-key-0123456789abcdef\n');
    const { config } = loadConfig({ env: { OPENHQM_AUTH__API_KEYS: JSON.stringify([{ id: 'e', key_file: key, tenant: 'acme' }]) } });
    expect(config.auth.api_keys).toEqual([{ id: 'e', key_sha256: expect.stringMatching(/^[0-9a-f]{64}$/), tenant: 'acme', roles: ['submit'] }]);
  });

  it('takes ${VAR} for a secret in the file', () => {
    const yaml = file('env.yaml', 'auth:\n  jwt:\n    secret: "${JWT_SECRET}"\n');
    expect(loadConfig({ env: { OPENHQM_CONFIG: yaml, JWT_SECRET: SECRET } }).config.auth.jwt.secret).toBe(SECRET);
  });

  it('leaves the *_file settings that are paths alone: auth.api_keys_file and server.tls.*', () => {
    const { config } = loadConfig({ env: { OPENHQM_AUTH__API_KEYS_FILE: '/etc/openhqm/keys.yaml', OPENHQM_SERVER__TLS__CERT_FILE: '/etc/tls/cert.pem', OPENHQM_SERVER__TLS__KEY_FILE: '/etc/tls/key.pem' } });
    expect(config.auth.api_keys_file).toBe('/etc/openhqm/keys.yaml');
    expect(config.server.tls).toEqual({ cert_file: '/etc/tls/cert.pem', key_file: '/etc/tls/key.pem' });
    expect(problems({ OPENHQM_SERVER__TLS__CERT_FILE: '/etc/tls/cert.pem' })).toEqual([expect.stringMatching(/^server\.tls: set both cert_file and key_file/)]);
  });

  it('masks every auth secret for config check', () => {
    const { config } = loadConfig({
      env: { OPENHQM_AUTH__JWT__SECRET: SECRET, OPENHQM_AUTH__API_KEYS: JSON.stringify([{ id: 'a', key: 'plain-key-0123456789abcdef', tenant: 'acme' }]), OPENHQM_AUTH__API_KEYS_FILE: '/etc/keys.yaml' },
    });
    const shown = JSON.stringify(maskSecrets(config));
    expect(shown).not.toContain(SECRET);
    expect(shown).not.toContain(config.auth.api_keys[0]!.key_sha256);
    // Paths and ids are not secrets.
    expect(shown).toContain('/etc/keys.yaml');
    expect(shown).toContain('"id":"a"');
  });
});

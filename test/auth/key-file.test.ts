import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/auth/api-keys.js';
import { createAuth } from '../../src/app/auth.js';
import { configSchema } from '../../src/config/schema.js';
import type { Logger } from '../../src/ports/logger.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const dir = tempDir('openhqm-keys-');
let n = 0;

/** A logger that keeps what it was told. */
function recorder(): Logger & { lines: Array<{ level: string; fields: object; message?: string }> } {
  const lines: Array<{ level: string; fields: object; message?: string }> = [];
  const at = (level: string) => (fields: object, message?: string) => void lines.push({ level, fields, message });
  const logger = { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

function keysFile(text: string): string {
  const path = join(dir, `keys-${(n += 1)}.yaml`);
  writeFileSync(path, text);
  return path;
}

/** Replaces the file as an editor or a Kubernetes secret update does: a new file renamed over it. */
function replace(path: string, text: string): void {
  const next = `${path}.next`;
  writeFileSync(next, text);
  renameSync(next, path);
}

const entry = (id: string, key: string, tenant = 'acme') => `- {id: ${id}, key_sha256: ${sha256Hex(key)}, tenant: ${tenant}, roles: [submit]}\n`;

function authFrom(file: string, logger: Logger) {
  const config = configSchema.parse({ auth: { enabled: true, api_keys_file: file, api_keys_reload_seconds: 0.02 } });
  const auth = createAuth(config.auth, logger)!;
  return auth;
}

const accepts = async (auth: ReturnType<typeof authFrom>, key: string): Promise<boolean> =>
  auth.api.authenticate({ 'x-api-key': key }).then(
    () => true,
    () => false,
  );

describe('auth.api_keys_file', () => {
  it('is re-read when it changes: a new key works, a removed one stops working, without a restart', async () => {
    const logger = recorder();
    const file = keysFile(entry('old', 'old-key-0123456789abcdef'));
    const auth = authFrom(file, logger);
    try {
      expect(await accepts(auth, 'old-key-0123456789abcdef')).toBe(true);
      expect(await accepts(auth, 'new-key-0123456789abcdef')).toBe(false);
      replace(file, entry('new', 'new-key-0123456789abcdef'));
      await waitFor(() => accepts(auth, 'new-key-0123456789abcdef'), { what: 'the new key to be accepted' });
      expect(await accepts(auth, 'old-key-0123456789abcdef')).toBe(false);
      expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'info', message: 'API keys reloaded' }));
    } finally {
      auth.close();
    }
  });

  it('keeps the keys in force when an edit breaks the file, says so once, and takes the next good edit', async () => {
    const logger = recorder();
    const file = keysFile(entry('k1', 'first-key-0123456789abcd'));
    const auth = authFrom(file, logger);
    try {
      replace(file, `${entry('k1', 'first-key-0123456789abcd')}- {id: k2, key: tiny-secret, tenant: acme}\n`);
      await waitFor(() => logger.lines.some((l) => l.level === 'error'), { what: 'the broken file to be reported' });
      expect(await accepts(auth, 'first-key-0123456789abcd')).toBe(true);
      const error = logger.lines.find((l) => l.level === 'error')!;
      // The problem is named by entry and field, never by the value.
      expect(String((error.fields as { err: Error }).err.message)).toMatch(/entry 1\.key: too short/);
      expect(JSON.stringify(error)).not.toContain('tiny-secret');
      replace(file, 'api_keys:\n' + entry('k3', 'third-key-0123456789abcd').replace(/^/, '  '));
      await waitFor(() => accepts(auth, 'third-key-0123456789abcd'), { what: 'the fixed file to be taken' });
      expect(logger.lines.filter((l) => l.level === 'error')).toHaveLength(1);
    } finally {
      auth.close();
    }
  });

  it('stops start-up when it is missing or broken, naming the setting', () => {
    expect(() => authFrom(join(dir, 'absent.yaml'), recorder())).toThrow(/auth\.api_keys_file: .*absent\.yaml/);
    expect(() => authFrom(keysFile('{not: [a list'), recorder())).toThrow(/auth\.api_keys_file/);
    expect(() => authFrom(keysFile(entry('same', 'same-key-0123456789abcd') + entry('same', 'other-key-0123456789abc')), recorder())).toThrow(/id same is used twice/);
  });

  it('labels metrics with the tenants that hold a key, and any other as "other"', () => {
    const auth = authFrom(keysFile(entry('k', 'label-key-0123456789abcd', 'globex')), recorder());
    try {
      expect(auth.tenantLabel('globex')).toBe('globex');
      expect(auth.tenantLabel('made-up-by-a-token')).toBe('other');
      expect(auth.tenantLabel(null)).toBe('none');
    } finally {
      auth.close();
    }
  });
});

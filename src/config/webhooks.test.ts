import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { loadConfig } from './load.js';
import { maskSecrets } from './mask.js';

const a = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
const b = `whsec_${Buffer.alloc(32, 2).toString('base64')}`;

describe('delivery.webhooks', () => {
  it('is off by default, with a schedule of more than a day', () => {
    const w = loadConfig({ env: {} }).config.delivery.webhooks;
    expect(w).toMatchObject({ secret: [], default_url: null, max_attempts: 18, allow_private: false, allowed_hosts: [] });
  });

  it('takes one key or a rotation list from the environment and from a secret_file', () => {
    expect(loadConfig({ env: { OPENHQM_DELIVERY__WEBHOOKS__SECRET: a } }).config.delivery.webhooks.secret).toEqual([a]);
    expect(loadConfig({ env: { OPENHQM_DELIVERY__WEBHOOKS__SECRET: `${a},${b}` } }).config.delivery.webhooks.secret).toEqual([a, b]);
    const path = join(mkdtempSync(join(tmpdir(), 'openhqm-whsec-')), 'secret');
    writeFileSync(path, `${a}\n${b}\n`);
    expect(loadConfig({ env: { OPENHQM_DELIVERY__WEBHOOKS__SECRET_FILE: path } }).config.delivery.webhooks.secret).toEqual([a, b]);
  });

  it('refuses a key that is not whsec_ with 24–64 bytes, without repeating it', () => {
    try {
      loadConfig({ env: { OPENHQM_DELIVERY__WEBHOOKS__SECRET: 'whsec_c2hvcnQ=' } });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/delivery\.webhooks\.secret/);
      expect((error as Error).message).not.toContain('c2hvcnQ');
    }
  });

  it('masks the keys when the configuration is shown', () => {
    const { config } = loadConfig({ env: { OPENHQM_DELIVERY__WEBHOOKS__SECRET: `${a},${b}` } });
    expect(JSON.stringify(maskSecrets(config))).not.toContain(a.slice(6, 20));
  });
});

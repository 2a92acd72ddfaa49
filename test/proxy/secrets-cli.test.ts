/** `openhqm config check` (the real CLI) prints the configuration with every credential masked. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const dir = tempDir();

const CONFIG = `
proxy:
  enabled: true
  default_endpoint: http://svc:hunter2@default.internal/x?tenant=acme&access_token=abc123
  endpoints:
    api:
      url: https://api.internal/v1?token=t0k&page=2
      headers:
        Authorization: Bearer static-s3cret
        X-Api-Key: k3y
        Cookie: sid=c00kie
        X-Tenant: acme
    hooks:
      url: https://hooks.internal/in
      auth_type: custom
      auth_header_name: X-Signature
      auth_token: sig-v4lue
routing:
  enabled: true
  config_dict:
    routes:
      - name: r
        match_field: payload.kind
        match_value: hook
        endpoint: http://r.internal/hook?sig=s1gnature&x=1
`;

const SECRETS = ['hunter2', 'abc123', 't0k&', 'static-s3cret', 'k3y', 'c00kie', 'sig-v4lue', 's1gnature'];

describe('openhqm config check', () => {
  it.each([['YAML', []], ['JSON', ['--json']]])('masks credentials in its %s output and leaves the rest readable', async (_format, extra) => {
    const file = join(dir, 'openhqm.yaml');
    writeFileSync(file, CONFIG);
    const { code, stdout, stderr } = await runCli(['config', 'check', '--config', file, ...extra], { OPENHQM_SQLITE__PATH: join(dir, 'openhqm.db') });
    expect(code, stderr).toBe(0);
    for (const secret of SECRETS) expect(stdout, secret).not.toContain(secret);
    for (const kept of ['svc:****@default.internal', 'tenant=acme', 'access_token=****', 'token=****&page=2', 'X-Tenant', 'sig=****&x=1', 'X-Signature']) {
      expect(stdout, kept).toContain(kept);
    }
    expect(stdout).toMatch(/Authorization"?: "?\*\*\*\*/);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { preflight } from './preflight.js';

const config = (env: Record<string, string>) => loadConfig({ env }).config;
const routing = { OPENHQM_PROXY__ENABLED: 'true', OPENHQM_ROUTING__ENABLED: 'true' };

describe('preflight', () => {
  it('passes the defaults', async () => {
    await expect(preflight(config({}))).resolves.toEqual([]);
  });

  it('compiles the routes as start does: an endpoint neither configured nor a URL is an error', async () => {
    const dict = JSON.stringify({ routes: [{ name: 'to-ghost', endpoint: 'ghost' }, { name: 'ok', endpoint: 'known' }] });
    const env = { ...routing, OPENHQM_ROUTING__CONFIG_DICT: dict, OPENHQM_PROXY__ENDPOINTS__KNOWN__URL: 'http://svc/' };
    await expect(preflight(config(env))).rejects.toMatchObject({ code: 'HQM_ERR_ROUTES_INVALID', issues: [{ route: 'to-ghost', message: expect.stringMatching(/neither configured/) }] });
  });

  it('refuses a processor module that is not a file, without importing one that is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openhqm-preflight-'));
    // Importing this would throw: preflight must only look for it.
    writeFileSync(join(dir, 'processor.mjs'), 'throw new Error("imported");\n');
    await expect(preflight(config({ OPENHQM_WORKER__PROCESSOR_MODULE: './processor.mjs' }), dir)).resolves.toEqual([]);
    await expect(preflight(config({ OPENHQM_WORKER__PROCESSOR_MODULE: './absent.mjs' }), dir)).rejects.toMatchObject({
      code: 'HQM_ERR_PROCESSOR_LOAD',
      message: expect.stringMatching(/cannot load worker\.processor_module \.\/absent\.mjs: .*absent\.mjs is not a file/),
    });
    await expect(preflight(config({ OPENHQM_WORKER__PROCESSOR_MODULE: '.' }), dir)).rejects.toMatchObject({ code: 'HQM_ERR_PROCESSOR_LOAD' });
  });
});

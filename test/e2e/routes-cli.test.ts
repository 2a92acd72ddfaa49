/** `openhqm routes test` and start-up validation of routes, through the real CLI. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const ROUTES = fileURLToPath(new URL('../fixtures/routes/original-examples.yaml', import.meta.url));

describe('openhqm routes test', () => {
  const dir = tempDir();
  const file = (name: string, value: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
    return path;
  };

  it('prints the routing result of a message and exits 0, warning about unknown endpoints', async () => {
    const message = file('order.json', {
      correlation_id: '0193f1c2-7a4b-7c3d-8e9f-0a1b2c3d4e5f',
      payload: { order_id: 'o-1', customer: { id: 'c-1' }, items: [{ sku: 'A', qty: 3, unit_price: 2 }], currency: 'EUR' },
      metadata: { type: 'order.create' },
    });
    const { code, stdout, stderr } = await runCli(['routes', 'test', '--routes', ROUTES, '--message', message]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      route_name: 'order-processing',
      endpoint: 'order-service',
      method: 'POST',
      payload: { order_id: 'o-1', customer_id: 'c-1', items: [{ product_id: 'A', quantity: 3, price: 2 }], total: 6, currency: 'EUR' },
      headers: { 'X-Order-ID': 'o-1', 'X-Customer-ID': 'c-1' },
      query_params: {},
      timeout: null,
      max_retries: null,
    });
    expect(stderr).toMatch(/warning: route "order-processing": endpoint "order-service" is neither configured/);
  });

  it('prints {error} and exits 1 when nothing matches', async () => {
    const routes = file('strict.yaml', 'routes:\n  - name: only\n    match_field: metadata.type\n    match_value: x\n    endpoint: http://svc/\nenable_fallback: false\n');
    const { code, stdout } = await runCli(['routes', 'test', '--routes', routes, '--message', file('m.json', { payload: {}, metadata: { type: 'y' } })]);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toEqual({ error: expect.stringMatching(/no route matches the message, there is no default route, and fallback is off/) });
  });

  it('names the message file that is not JSON', async () => {
    const routes = file('any.yaml', 'routes:\n  - name: r\n    endpoint: http://svc/\n');
    const { code, stdout } = await runCli(['routes', 'test', '--routes', routes, '--message', file('broken.json', '{"payload": ')]);
    expect(code).toBe(1);
    expect(JSON.parse(stdout).error).toMatch(/the message file .*broken\.json is not JSON/);
  });

  it('prints {error} naming the broken route and exits 1', async () => {
    const routes = file('broken.yaml', 'routes:\n  - name: bad\n    endpoint: http://svc/\n    transform_type: jq\n    transform: ".a | ("\n');
    const { code, stdout } = await runCli(['routes', 'test', '--routes', routes, '--message', file('m2.json', { payload: {} })]);
    expect(code).toBe(1);
    expect(JSON.parse(stdout).error).toMatch(/route "bad": jq transform does not compile: jq: error: .* line 1: \.a \| \(/);
  });

  it('stops start-up (exit 2) on a broken route or an endpoint neither configured nor a URL', async () => {
    const broken = file('start-broken.yaml', 'routes:\n  - name: bad-regex\n    match_field: a\n    match_pattern: "("\n    endpoint: http://svc/\n');
    const env = { OPENHQM_PROXY__ENABLED: 'true', OPENHQM_ROUTING__ENABLED: 'true', OPENHQM_SQLITE__PATH: join(dir, 's.db') };
    const first = await runCli(['worker'], { ...env, OPENHQM_ROUTING__CONFIG_PATH: broken });
    expect(first.code).toBe(2);
    expect(first.stderr).toMatch(/route "bad-regex": match_pattern is not a valid regular expression/);
    const ghost = file('ghost.yaml', 'routes:\n  - name: to-ghost\n    endpoint: ghost-service\n');
    const second = await runCli(['worker'], { ...env, OPENHQM_ROUTING__CONFIG_PATH: ghost });
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/route "to-ghost": endpoint "ghost-service" is neither configured in proxy\.endpoints nor a URL/);
  });

  it('takes inline routes from OPENHQM_ROUTING__CONFIG_DICT', async () => {
    const env = {
      OPENHQM_PROXY__ENABLED: 'true',
      OPENHQM_ROUTING__ENABLED: 'true',
      OPENHQM_ROUTING__CONFIG_DICT: JSON.stringify({ routes: [{ name: 'bad', endpoint: 'nowhere' }] }),
      OPENHQM_SQLITE__PATH: join(dir, 'inline.db'),
    };
    const { code, stderr } = await runCli(['worker'], env);
    expect(code).toBe(2);
    expect(stderr).toMatch(/route "bad": endpoint "nowhere"/);
  });
});

/**
 * routing.strict (item 13 of issue 9): the original's own examples file is refused as a whole
 * because one jq program does not compile, while the original failed only the messages that
 * reached that route. Strict stays the default; `strict: false` loads such a file, reports each
 * broken route once, and fails only the requests a broken route matches.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { preflight } from '../../src/app/preflight.js';
import { RoutesHolder, routeSimulator } from '../../src/app/routes.js';
import { loadConfig } from '../../src/config/load.js';
import { isHqmError } from '../../src/core/errors.js';
import { HqmEvents } from '../../src/core/events.js';
import type { Logger } from '../../src/ports/logger.js';
import { Router } from '../../src/routing/router.js';
import { proxyGateway } from '../helpers/proxy-gateway.js';
import { startUpstream } from '../helpers/upstream.js';

const ID = '0193f1c2-7a4b-7c3d-8e9f-0a1b2c3d4e5f';
const envelope = (payload: Record<string, unknown>, metadata: Record<string, unknown>) => ({ correlation_id: ID, timestamp: '2026-11-22T10:00:00.000Z', payload, headers: {}, metadata });

/** The original's examples/routing-config.yaml as printed: its order example is not valid jq. */
function originalAsPrinted(): Record<string, unknown> {
  const file = parse(readFileSync(new URL('../fixtures/routes/original-examples.yaml', import.meta.url), 'utf8')) as { routes: Array<{ name: string; transform?: string }> };
  const order = file.routes.find((r) => r.name === 'order-processing');
  if (order?.transform === undefined) throw new Error('the fixture has no order-processing route');
  order.transform = order.transform.replace('(.payload.currency // "USD")', '.payload.currency // "USD"');
  return file;
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const logger: Logger & { warnings: string[] } = {
    warnings,
    debug: () => undefined,
    info: () => undefined,
    warn: (_fields, message) => void warnings.push(message ?? ''),
    error: () => undefined,
    child: () => logger,
  };
  return logger;
}

describe('routing.strict: false', () => {
  it('loads the original’s examples as printed: the order route fails the orders, every other example routes as documented', async () => {
    await expect(Router.compile(originalAsPrinted())).rejects.toThrow(/route "order-processing": jq transform does not compile/);
    const router = await Router.compile(originalAsPrinted(), { strict: false });
    expect(router.warnings).toEqual([{ route: 'order-processing', message: expect.stringMatching(/^jq transform does not compile: .*\(loaded because routing\.strict is false: the requests it matches fail\)$/) }]);

    const order = await router.route(envelope({ order_id: 'o-1', items: [] }, { type: 'order.create' })).catch((e: unknown) => e);
    expect(isHqmError(order) && [order.code, order.retryable]).toEqual(['HQM_ERR_ROUTES_INVALID', false]);
    expect((order as Error).message).toMatch(/^route "order-processing" matches this message but is broken: jq transform does not compile/);

    expect(await router.route(envelope({ email: 'ada@example.com', name: 'Ada' }, { type: 'user.register', source: 's' }))).toMatchObject({ route_name: 'user-registration', payload: { username: 'ada' } });
    expect(await router.route(envelope({ user: { email: 'b@example.com' }, subject: 's', message: 'm' }, { type: 'notification.email' }))).toMatchObject({ route_name: 'notification' });
    expect(await router.route(envelope({ x: 1 }, { type: 'other' }))).toMatchObject({ route_name: 'default', payload: { x: 1 } });
  });

  it('leaves out a route whose match criteria do not compile (it can match nothing), and says so', async () => {
    const router = await Router.compile(
      {
        routes: [
          { name: 'bad-match', match_field: 'metadata.type', match_pattern: '(unclosed', endpoint: 'a', priority: 9 },
          { name: 'bad-shape', match_field: 'metadata.type', match_value: 'shape', transform_type: 'xslt', endpoint: 'a' },
          { name: 'ok', match_field: 'metadata.type', match_value: 'ok', endpoint: 'b' },
        ],
        default_endpoint: 'fallback',
      },
      { strict: false },
    );
    expect(router.warnings.map((w) => [w.route, /skipped/.test(w.message) ? 'skipped' : 'fails its requests'])).toEqual([
      ['bad-match', 'skipped'],
      ['bad-shape', 'fails its requests'],
    ]);
    expect((await router.route(envelope({}, { type: '(unclosed' }))).endpoint).toBe('fallback');
    expect((await router.route(envelope({}, { type: 'ok' }))).route_name).toBe('ok');
    const shape = await router.route(envelope({}, { type: 'shape' })).catch((e: unknown) => e);
    expect((shape as Error).message).toMatch(/route "bad-shape" matches this message but is broken: transform_type: expected one of/);
  });

  it('logs each broken route once, at load, however many requests it fails', async () => {
    const logger = recordingLogger();
    const holder = await RoutesHolder.load({ enabled: true, config_path: null, config_dict: originalAsPrinted(), strict: false, max_transform_output_bytes: 1 << 20 }, {}, logger, new HqmEvents());
    for (let i = 0; i < 3; i += 1) await holder.current.route(envelope({}, { type: 'order.create' })).catch(() => undefined);
    expect(logger.warnings).toEqual([expect.stringMatching(/^routes: route "order-processing": jq transform does not compile/)]);
    holder.close();
  });

  it('`config check` and `routes test` report the broken routes as warnings instead of refusing the file', async () => {
    // Endpoints as URLs, so the broken jq program is the file's only problem.
    const file = originalAsPrinted() as { routes: Array<{ endpoint: string }>; default_endpoint: string };
    for (const route of file.routes) route.endpoint = `http://svc/${route.endpoint}`;
    file.default_endpoint = 'http://svc/default';
    const env = { OPENHQM_PROXY__ENABLED: 'true', OPENHQM_ROUTING__ENABLED: 'true', OPENHQM_ROUTING__CONFIG_DICT: JSON.stringify(file) };
    await expect(preflight(loadConfig({ env }).config)).rejects.toMatchObject({ code: 'HQM_ERR_ROUTES_INVALID' });
    const lenient = loadConfig({ env: { ...env, OPENHQM_ROUTING__STRICT: 'false' } }).config;
    expect(await preflight(lenient)).toEqual([expect.stringMatching(/^routes: route "order-processing": jq transform does not compile/)]);

    const simulate = routeSimulator(lenient);
    const user = await simulate({ routes: originalAsPrinted(), message: envelope({ email: 'a@b.c', name: 'A' }, { type: 'user.register' }) });
    expect(user).toMatchObject({ ok: true, result: { route_name: 'user-registration' }, warnings: expect.arrayContaining([expect.stringMatching(/route "order-processing": jq transform does not compile/)]) });
    const order = await simulate({ routes: originalAsPrinted(), message: envelope({}, { type: 'order.create' }) });
    expect(order).toMatchObject({ ok: false, code: 'HQM_ERR_ROUTES_INVALID', error: expect.stringMatching(/route "order-processing"/) });
  });

  it('end to end: a request the broken route matches fails at once, naming it; the others are forwarded', async () => {
    const upstream = await startUpstream();
    const url = `${upstream.url}/echo`;
    const g = await proxyGateway({
      proxy: { endpoints: { 'user-service': { url }, 'order-service': { url }, 'notification-service': { url }, 'analytics-service': { url }, 'legacy-service': { url }, 'payment-service': { url }, 'default-service': { url } } },
      routing: { enabled: true, strict: false, config_dict: originalAsPrinted() },
      worker: { max_retries: 3 },
    });
    const order = await g.finished(await g.submit({ order_id: 'o-1', items: [] }, { metadata: { type: 'order.create' } }));
    expect(order).toMatchObject({ status: 'FAILED', attempt: 1, outcome: { errorCode: 'HQM_ERR_ROUTES_INVALID', error: expect.stringMatching(/route "order-processing"/) } });
    const other = await g.finished(await g.submit({ x: 1 }, { metadata: { type: 'other' } }));
    expect(other.status).toBe('COMPLETED');
    expect(upstream.received).toHaveLength(1);
  });
});

/** Routes deciding where and how the proxy sends a request, end to end through a real upstream. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { HqmEvents } from '../../src/core/events.js';
import { silentLogger } from '../../src/ports/logger.js';
import { RoutesHolder } from '../../src/app/routes.js';
import { proxyGateway } from '../helpers/proxy-gateway.js';
import { tempDir } from '../helpers/temp.js';
import { startUpstream } from '../helpers/upstream.js';

describe('routing in the proxy', () => {
  it('sends each request where its route says, transformed, with mapped headers and query parameters', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({
      proxy: { endpoints: { orders: { url: `${upstream.url}/echo/orders` }, users: { url: `${upstream.url}/echo/users`, method: 'PUT' } } },
      routing: {
        enabled: true,
        config_dict: {
          routes: [
            {
              name: 'orders',
              match_field: 'metadata.type',
              match_value: 'order.create',
              endpoint: 'orders',
              transform_type: 'jsonata',
              transform: '{"id": payload.order_id, "total": $sum(payload.items.(qty * price))}',
              header_mappings: { 'X-Order-ID': 'payload.order_id' },
              query_params: { idempotency_key: 'correlation_id' },
            },
            { name: 'users', match_field: 'metadata.type', match_pattern: 'user\\.', endpoint: 'users' },
          ],
        },
      },
    });
    const orderId = await g.submit({ order_id: 'o-1', items: [{ qty: 2, price: 5 }] }, { metadata: { type: 'order.create' } });
    const order = await g.finished(orderId);
    const seen = order.outcome?.result as { method: string; path: string; query: string; headers: Record<string, string>; body_base64: string };
    expect(seen).toMatchObject({ method: 'POST', path: '/echo/orders', query: `idempotency_key=${orderId}` });
    expect(seen.headers['x-order-id']).toBe('o-1');
    expect(JSON.parse(Buffer.from(seen.body_base64, 'base64').toString())).toEqual({ id: 'o-1', total: 10 });

    const user = await g.finished(await g.submit({ name: 'ada' }, { metadata: { type: 'user.update' } }));
    expect(user.outcome?.result).toMatchObject({ method: 'PUT', path: '/echo/users' });
  });

  it('fails a request no route matches, and one whose transform throws, without retrying', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({
      proxy: { endpoints: { a: { url: `${upstream.url}/echo` } } },
      routing: { enabled: true, config_dict: { enable_fallback: false, routes: [{ name: 'only-x', match_field: 'metadata.type', match_value: 'x', endpoint: 'a', transform_type: 'jq', transform: '.payload.n + 1' }] } },
      worker: { max_retries: 3 },
    });
    const unmatched = await g.finished(await g.submit({}, { metadata: { type: 'y' } }));
    expect(unmatched).toMatchObject({ status: 'FAILED', attempt: 1, outcome: { error: expect.stringMatching(/no route matches/), errorCode: 'HQM_ERR_NO_ROUTE' } });
    const broken = await g.finished(await g.submit({ n: 'text' }, { metadata: { type: 'x' } }));
    expect(broken).toMatchObject({ status: 'FAILED', attempt: 1, outcome: { error: expect.stringMatching(/route "only-x": jq failed/), errorCode: 'HQM_ERR_TRANSFORM' } });
    expect(upstream.received).toHaveLength(0);

    // The client reads why: the code in /response, and the code with its status from /body.
    const response = await g.app.inject({ method: 'GET', url: `/api/v1/response/${broken.id}` });
    expect(response.json()).toMatchObject({ status: 'FAILED', error_code: 'HQM_ERR_TRANSFORM' });
    const body = await g.app.inject({ method: 'GET', url: `/api/v1/response/${unmatched.id}/body` });
    expect(body.statusCode).toBe(422);
    expect(body.json()).toMatchObject({ code: 'HQM_ERR_NO_ROUTE', status: 'FAILED' });
  });

  it('a route’s max_retries ends retrying sooner than the worker would', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({
      proxy: { endpoints: { down: { url: `${upstream.url}/status/503` } }, circuit_breaker: { failure_threshold: 0 } },
      routing: { enabled: true, config_dict: { routes: [{ name: 'once', endpoint: 'down', max_retries: 1 }] } },
      worker: { max_retries: 5, retry_delay_base: 0.01, retry_delay_max: 0.01 },
    });
    const record = await g.finished(await g.submit({}));
    expect(record).toMatchObject({ status: 'COMPLETED', attempt: 2, outcome: { statusCode: 503 } });
    expect(upstream.received).toHaveLength(2);
  });

  it('POST /api/v1/routes/test simulates with given routes or the ones in force', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({
      proxy: { endpoints: { a: { url: `${upstream.url}/echo`, method: 'PATCH' } } },
      routing: { enabled: true, config_dict: { routes: [{ name: 'r', endpoint: 'a', transform_type: 'template', transform: '{"who": "{{payload.name}}"}' }] } },
    });
    const message = { correlation_id: '0193f1c2-7a4b-7c3d-8e9f-0a1b2c3d4e5f', payload: { name: 'ada' }, metadata: {} };
    const inForce = await g.app.inject({ method: 'POST', url: '/api/v1/routes/test', payload: { message } });
    expect(inForce.statusCode).toBe(200);
    expect(inForce.json()).toMatchObject({ route_name: 'r', endpoint: 'a', method: 'PATCH', payload: { who: 'ada' }, headers: {}, query_params: {}, timeout: null, max_retries: null });
    const given = await g.app.inject({ method: 'POST', url: '/api/v1/routes/test', payload: { message, routes: { routes: [{ name: 'g', endpoint: 'elsewhere' }] } } });
    expect(given.json()).toMatchObject({ route_name: 'g', endpoint: 'elsewhere', warnings: [expect.stringMatching(/elsewhere/)] });
    const broken = await g.app.inject({ method: 'POST', url: '/api/v1/routes/test', payload: { message, routes: { routes: [{ name: 'b', endpoint: 'a', match_field: 'x', match_pattern: '(' }] } } });
    expect(broken.statusCode).toBe(422);
    expect(broken.json()).toMatchObject({ code: 'HQM_ERR_ROUTES_INVALID', error: expect.stringMatching(/route "b"/) });
    const throwing = await g.app.inject({ method: 'POST', url: '/api/v1/routes/test', payload: { message, routes: { routes: [{ name: 't', endpoint: 'a', transform_type: 'jq', transform: 'error("boom")' }] } } });
    expect(throwing.statusCode).toBe(422);
    expect(throwing.json()).toMatchObject({ code: 'HQM_ERR_TRANSFORM', error: expect.stringMatching(/boom/) });
    const unmatched = await g.app.inject({ method: 'POST', url: '/api/v1/routes/test', payload: { message, routes: { enable_fallback: false, routes: [{ name: 'x', endpoint: 'a', match_field: 'metadata.type', match_value: 'x' }] } } });
    expect(unmatched.json()).toMatchObject({ code: 'HQM_ERR_NO_ROUTE' });
  });
});

describe('routes reload', () => {
  const dir = tempDir();

  it('swaps in a changed file, refuses a broken edit and keeps the previous routes', async () => {
    const path = join(dir, 'routes.yaml');
    const write = (endpoint: string, extra: Record<string, unknown> = {}): void => writeFileSync(path, stringify({ routes: [{ name: 'r', endpoint, ...extra }] }));
    write('http://first/');
    const events = new HqmEvents();
    const holder = await RoutesHolder.load({ enabled: true, config_path: path, config_dict: null, strict: true, max_transform_output_bytes: 1024 * 1024 }, {}, silentLogger, events);
    try {
      const message = { payload: {} };
      expect((await holder.current.route(message)).endpoint).toBe('http://first/');

      const rejected = new Promise<string>((resolve) => events.once('routes:rejected', ({ error }) => resolve(error)));
      write('http://broken/', { transform_type: 'jq', transform: '.a | (' });
      expect(await rejected).toMatch(/route "r": jq transform does not compile/);
      expect((await holder.current.route(message)).endpoint).toBe('http://first/');

      const reloaded = new Promise<void>((resolve) => events.once('routes:reloaded', () => resolve()));
      write('http://second/');
      await reloaded;
      expect((await holder.current.route(message)).endpoint).toBe('http://second/');
    } finally {
      holder.close();
    }
  });
});

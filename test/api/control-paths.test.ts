/**
 * The API's own paths answer for themselves: routing errors before body errors, the Swagger UI
 * whole under the control prefix, and a process that is draining still answers its probes.
 */
import { describe, expect, it } from 'vitest';
import { testApi } from '../helpers/api.js';

describe('routing errors come before body errors', () => {
  // Every row is a path or method that does not exist: whatever the body, the answer is 404.
  const rows: Array<{ method: 'POST' | 'PUT' | 'DELETE' | 'PATCH'; url: string; type?: string; body: string }> = [
    { method: 'POST', url: '/nope', type: 'application/json', body: '' },
    { method: 'POST', url: '/nope', type: 'application/json', body: '{bad' },
    { method: 'POST', url: '/nope', type: 'application/json; charset=utf-8', body: '\u00ff' },
    { method: 'POST', url: '/nope', type: 'application/xml', body: '<a/>' },
    { method: 'POST', url: '/nope', type: 'text/plain', body: 'x' },
    { method: 'POST', url: '/nope', body: 'no content type' },
    { method: 'POST', url: '/nope', type: 'application/json', body: `{"a":"${'x'.repeat(2048)}"}` },
    { method: 'PUT', url: '/api/v1/submit', type: 'application/json', body: '' },
    { method: 'DELETE', url: '/api/v1/submit', type: 'application/json', body: '{bad' },
    { method: 'PATCH', url: '/api/v1/submit', type: 'application/json', body: '{"__proto__": {}}' },
    { method: 'POST', url: '/api/v1/status/0190d3e4-7f6a-7c3b-9d2e-1a2b3c4d5e6f', type: 'application/json', body: '' },
    { method: 'POST', url: '/health/ready', type: 'application/json', body: '[' },
  ];

  it.each(rows)('$method $url with $type body $body.length bytes → 404', async ({ method, url, type, body }) => {
    // A body limit below the largest row: a too-large body on an unknown route is still a 404.
    const { app } = await testApi({ maxBodyBytes: 1024 });
    const res = await app.inject({ method, url, payload: body, headers: type === undefined ? {} : { 'content-type': type } });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'HQM_ERR_ROUTE_NOT_FOUND', detail: `no endpoint at ${method} ${url}` });
  });

  it('a route that exists still parses its body', async () => {
    const { app } = await testApi();
    const res = await app.inject({ method: 'POST', url: '/api/v1/submit', payload: '', headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'HQM_ERR_MALFORMED_BODY' });
  });
});

describe('the Swagger UI under proxy.capture.control_prefix', () => {
  /** Every URL the page loads: stylesheets, icons and scripts, resolved as a browser would. */
  function assetUrls(html: string, page: URL): URL[] {
    return [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => new URL(m[1] as string, page));
  }

  it.each(['/_hqm/docs', '/_hqm/docs/'])('%s and every asset it references are served by OpenHQM, none captured', async (path) => {
    const { app, queue } = await testApi({ capture: { enabled: true, controlPrefix: '/_hqm', retryAfterSeconds: 1 } });
    const page = new URL(path, 'http://gateway.test');
    const res = await app.inject({ method: 'GET', url: page.pathname });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    const assets = assetUrls(res.body, page);
    expect(assets.length).toBeGreaterThanOrEqual(5);
    // What the initializer script asks for: the spec, next to the page.
    const initializer = assets.find((u) => u.pathname.endsWith('/swagger-initializer.js'));
    expect(initializer).toBeDefined();
    for (const asset of [...assets, new URL('json', page.href.endsWith('/') ? page : `${page.href}/`)]) {
      expect(asset.pathname.startsWith('/_hqm/docs/'), asset.pathname).toBe(true);
      const fetched = await app.inject({ method: 'GET', url: asset.pathname });
      expect({ url: asset.pathname, status: fetched.statusCode }).toEqual({ url: asset.pathname, status: 200 });
      expect(fetched.headers['x-correlation-id']).toBeUndefined();
    }
    // Nothing was captured: the upstream would have seen nothing.
    expect((await queue.stats('openhqm-requests')).depth).toBe(0);
  });
});

describe('202 answers say when to look again', () => {
  it('a submit’s 202 carries Retry-After, like a captured request’s', async () => {
    const { app } = await testApi({ capture: { enabled: false, controlPrefix: '', retryAfterSeconds: 3 } });
    const res = await app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: { operation: 'echo' } } });
    expect(res.statusCode).toBe(202);
    expect(res.headers['retry-after']).toBe('3');
    expect(res.headers.location).toBe(`/api/v1/requests/${res.json<{ correlation_id: string }>().correlation_id}`);
  });
});

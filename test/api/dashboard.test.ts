/**
 * The dashboard's files at <control prefix>/dashboard: the page under a strict
 * Content-Security-Policy, hashed assets cached for good, public with auth on (the data calls
 * are not), and a control path in sidecar mode only while it is served.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApiOptions } from '../../src/api/context.js';
import { dashboardPlugin } from '../../src/dashboard/plugin.js';
import { testApi } from '../helpers/api.js';
import { apiAuth } from '../helpers/auth.js';
import { tempDir } from '../helpers/temp.js';

const built = tempDir('openhqm-dashboard-');
mkdirSync(join(built, 'assets'));
writeFileSync(join(built, 'index.html'), '<!doctype html><title>OpenHQM dashboard</title><script type="module" src="./assets/index-abc.js"></script>');
writeFileSync(join(built, 'assets', 'index-abc.js'), 'console.log("dashboard")');
writeFileSync(join(built, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');

const withDashboard = (options: Partial<ApiOptions> = {}, root = built) => testApi(options, { dashboard: dashboardPlugin({ root }) });
const sidecar = (controlPrefix: string): Partial<ApiOptions> => ({ capture: { enabled: true, controlPrefix, retryAfterSeconds: 1 } });

describe('/dashboard', () => {
  it('redirects to the slash form relatively, keeping the query, so relative paths resolve under any prefix', async () => {
    const { app } = await withDashboard();
    const res = await app.inject({ method: 'GET', url: '/dashboard?x=1' });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('./dashboard/?x=1');
    expect(new URL(res.headers.location as string, 'http://gw.test/dashboard?x=1').pathname).toBe('/dashboard/');
  });

  it('serves the page under a Content-Security-Policy that allows its own files only, revalidated on each load', async () => {
    const { app } = await withDashboard();
    const res = await app.inject({ method: 'GET', url: '/dashboard/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('<title>OpenHQM dashboard</title>');
    expect(res.headers['cache-control']).toBe('no-cache');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect((await app.inject({ method: 'GET', url: '/dashboard/index.html' })).body).toBe(res.body);
  });

  it('caches content-hashed assets for good, other files briefly, and finds nothing outside its folder', async () => {
    const { app } = await withDashboard();
    const asset = await app.inject({ method: 'GET', url: '/dashboard/assets/index-abc.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const icon = await app.inject({ method: 'GET', url: '/dashboard/favicon.svg' });
    expect(icon.headers['cache-control']).toBe('public, max-age=3600');
    expect((await app.inject({ method: 'GET', url: '/dashboard/assets/missing.js' })).json()).toMatchObject({ code: 'HQM_ERR_ROUTE_NOT_FOUND' });
    for (const url of ['/dashboard/../package.json', '/dashboard/%2e%2e/%2e%2e/package.json', '/dashboard/assets/..%2f..%2f..%2fpackage.json']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, url).toBeLessThan(500);
      expect(res.body, url).not.toContain('"name": "openhqm"');
    }
  });

  it('loads without a credential when auth is on; the data it asks for does not', async () => {
    const { app } = await withDashboard({ auth: apiAuth() });
    expect((await app.inject({ method: 'GET', url: '/dashboard/' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/dashboard/assets/index-abc.js' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/dashboard' })).statusCode).toBe(302);
    expect((await app.inject({ method: 'GET', url: '/api/v1/queues' })).statusCode).toBe(401);
  });

  it('says so when the page was not built', async () => {
    const { app } = await withDashboard({}, join(built, 'nowhere'));
    const res = await app.inject({ method: 'GET', url: '/dashboard/' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'HQM_ERR_ROUTE_NOT_FOUND', detail: expect.stringContaining('npm run build') });
  });

  it('is not in the OpenAPI document (it is a page, not an API)', async () => {
    const { app } = await withDashboard();
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, unknown> }>();
    expect(Object.keys(doc.paths).filter((p) => p.includes('dashboard'))).toEqual([]);
  });
});

describe('/dashboard in sidecar mode', () => {
  it('lives under the control prefix; the bare path belongs to the application', async () => {
    const { app } = await withDashboard(sidecar('/_hqm'));
    expect((await app.inject({ method: 'GET', url: '/_hqm/dashboard/' })).statusCode).toBe(200);
    const redirect = await app.inject({ method: 'GET', url: '/_hqm/dashboard' });
    expect(new URL(redirect.headers.location as string, 'http://gw.test/_hqm/dashboard').pathname).toBe('/_hqm/dashboard/');
    const captured = await app.inject({ method: 'GET', url: '/dashboard/' });
    expect(captured.statusCode).toBe(202);
    expect(captured.json()).toMatchObject({ status: 'PENDING' });
  });

  it('without a prefix is a control path, like /docs: served, never captured', async () => {
    const { app, queue } = await withDashboard(sidecar(''));
    expect((await app.inject({ method: 'GET', url: '/dashboard/' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/dashboard/nothing-here' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/dashboardish' })).statusCode).toBe(202);
    expect((await queue.stats('openhqm-requests')).depth).toBe(1);
  });

  it('turned off (api.dashboard_enabled: false), /dashboard is the application\'s', async () => {
    const { app } = await testApi(sidecar(''));
    expect((await app.inject({ method: 'GET', url: '/dashboard/' })).statusCode).toBe(202);
  });
});

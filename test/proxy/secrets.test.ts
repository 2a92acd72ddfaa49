/**
 * Secrets stay secret: credentials in an endpoint URL or its headers never reach /metrics
 * labels, error messages or printed configuration; userinfo in a URL is Basic auth, not lost.
 */
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { isCredentialName, maskSecrets } from '../../src/config/mask.js';
import { Metrics } from '../../src/observability/metrics.js';
import { proxyGateway } from '../helpers/proxy-gateway.js';
import { startUpstream } from '../helpers/upstream.js';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function scrape(metrics: Metrics): Promise<string> {
  return metrics.registry.metrics();
}

function observed(events: Parameters<Metrics['observe']>[0]): Metrics {
  const metrics = new Metrics({ defaultMetrics: false });
  metrics.observe(events, 'test');
  return metrics;
}

describe('endpoint URLs with credentials', () => {
  it('a route’s URL endpoint: userinfo becomes Basic auth, the query is sent, and metrics and errors show only the origin', async () => {
    const upstream = await startUpstream();
    const origin = upstream.url;
    const target = `${origin.replace('http://', 'http://ro%40ot:pa55w0rd@')}/status/503?token=t0psecret`;
    const g = await proxyGateway({
      proxy: { default_endpoint: `${origin}/echo`, fail_on_status: ['500-599'] },
      routing: { enabled: true, config_dict: { routes: [{ name: 'secretive', match_field: 'payload.kind', match_value: 'x', endpoint: target }] } },
      worker: { max_retries: 0 },
    });
    const metrics = observed(g.events);
    const record = await g.finished(await g.submit({ kind: 'x' }));
    const [seen] = upstream.received;
    expect(seen).toMatchObject({ path: '/status/503', query: 'token=t0psecret' });
    expect(seen?.headers.authorization).toBe(basic('ro@ot', 'pa55w0rd'));
    expect(record.error).toContain(origin);
    const text = await scrape(metrics);
    expect(text).toContain(`openhqm_proxy_requests_total{endpoint="${origin}",outcome="503"} 1`);
    for (const leak of ['pa55w0rd', 't0psecret', 'ro%40ot', '/status/503']) {
      expect(text, leak).not.toContain(leak);
      expect(record.error ?? '', leak).not.toContain(leak);
    }
  });

  it('the default endpoint as a URL: the same', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: `${upstream.url.replace('http://', 'http://svc:hunter2@')}/echo?api_key=k3y` } });
    const metrics = observed(g.events);
    const record = await g.finished(await g.submit({}));
    expect(record.outcome?.result).toMatchObject({ path: '/echo', query: 'api_key=k3y', headers: { authorization: basic('svc', 'hunter2') } });
    const text = await scrape(metrics);
    expect(text).toContain(`endpoint="${upstream.url}"`);
    expect(text).not.toMatch(/hunter2|k3y|\/echo/);
  });

  it('a named endpoint is labelled by its name, and its userinfo is Basic auth too', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: 'billing', endpoints: { billing: { url: `${upstream.url.replace('http://', 'http://app:s3cret@')}/echo` } } } });
    const metrics = observed(g.events);
    const record = await g.finished(await g.submit({}));
    expect(record.outcome?.result).toMatchObject({ headers: { authorization: basic('app', 's3cret') } });
    const text = await scrape(metrics);
    expect(text).toContain('openhqm_proxy_requests_total{endpoint="billing",outcome="200"} 1');
    expect(text).not.toContain('s3cret');
  });

  it.each([
    ['an auth_type', { auth_type: 'bearer', auth_token: 't' }, /carries user:password@ \(sent as Basic auth\) and the endpoint also sets auth_type bearer/],
    ['an Authorization header', { headers: { authorization: 'Bearer t' } }, /and the endpoint also sets an Authorization header/],
  ])('userinfo next to %s is refused at start-up, naming the endpoint', (_title, extra, why) => {
    const parsed = configSchema.safeParse({ proxy: { enabled: true, endpoints: { api: { url: 'http://u:p@svc/', ...extra } } } });
    expect(parsed.success).toBe(false);
    const issue = parsed.error?.issues.find((i) => why.test(i.message));
    expect(issue?.path).toEqual(['proxy', 'endpoints', 'api', 'url']);
  });
});

describe('masking', () => {
  it.each(['Authorization', 'Proxy-Authorization', 'Cookie', 'Set-Cookie', 'X-Api-Key', 'api_key', 'apiKey', 'X-Auth-Token', 'access_token', 'X-Amz-Security-Token', 'X-Amz-Signature', 'sig', 'client_secret', 'password', 'auth_password', 'X-Session-Id', 'private_key', 'x-auth', 'key'])(
    '%s names a credential',
    (name) => expect(isCredentialName(name)).toBe(true),
  );

  it.each(['Content-Type', 'X-Tenant', 'Accept', 'auth_type', 'auth_header_name', 'auth_username', 'gcp_credentials_path', 'partition_key_field', 'session_key_field', 'key_prefix', 'sticky_session_ttl', 'page', 'keyword', 'monkey'])(
    '%s does not',
    (name) => expect(isCredentialName(name)).toBe(false),
  );

  it('masks static credential headers, URL userinfo and credential query values, and leaves the rest readable', () => {
    const config = configSchema.parse({
      proxy: {
        enabled: true,
        default_endpoint: 'http://svc:hunter2@default.internal/x?tenant=acme&access_token=abc123',
        endpoints: {
          api: { url: 'https://api.internal/v1?token=t0k&page=2', headers: { Authorization: 'Bearer static-s3cret', 'X-Api-Key': 'k3y', Cookie: 'sid=c00kie', 'X-Tenant': 'acme' } },
          bare: { url: 'https://tok3n@git.internal/repo' },
        },
      },
      routing: { enabled: true, config_dict: { routes: [{ name: 'r', endpoint: 'http://r.internal/hook?sig=s1gnature&x=1' }] } },
    });
    const text = JSON.stringify(maskSecrets(config));
    for (const secret of ['hunter2', 'abc123', 't0k', 'static-s3cret', 'k3y', 'c00kie', 'tok3n', 's1gnature']) expect(text, secret).not.toContain(secret);
    for (const kept of ['svc:****@default.internal', 'tenant=acme', 'access_token=****', 'token=****&page=2', '"Authorization":"****"', '"X-Tenant":"acme"', 'https://****@git.internal/repo', 'sig=****&x=1']) {
      expect(text, kept).toContain(kept);
    }
  });
});

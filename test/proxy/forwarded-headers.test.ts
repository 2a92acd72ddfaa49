/**
 * Forwarding headers tell the truth: the upstream learns the real peer, and believes a
 * client's X-Forwarded-* / Forwarded / X-Real-IP only when api.trust_proxy trusts the peer.
 */
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { proxyGateway } from '../helpers/proxy-gateway.js';
import { rawHttp } from '../helpers/raw-http.js';
import { startUpstream } from '../helpers/upstream.js';

/** What a client (or a proxy in front) claims about the hops before us. */
const CLAIMS = {
  'x-forwarded-for': '1.2.3.4',
  'x-forwarded-host': 'claimed.example',
  'x-forwarded-proto': 'https',
  'x-forwarded-port': '443',
  'x-real-ip': '1.2.3.4',
  forwarded: 'for=1.2.3.4;proto=https',
};

type Seen = Record<string, string | undefined>;

async function sidecar(api: Record<string, unknown> = {}) {
  const upstream = await startUpstream();
  const g = await proxyGateway({ proxy: { default_endpoint: `${upstream.url}/echo`, capture: { enabled: true } }, api });
  /** The headers the upstream received for one captured request from `peer`. */
  const seen = async (peer: string, headers: Record<string, string> = CLAIMS, host = 'app.example'): Promise<Seen> => {
    const res = await g.app.inject({ method: 'GET', url: '/orders', remoteAddress: peer, headers: { host, prefer: 'wait=10', ...headers } });
    expect(res.statusCode).toBe(200);
    return res.json<{ headers: Seen }>().headers;
  };
  return { upstream, g, seen };
}

function untrusted(seen: Seen, peer: string): void {
  expect(seen['x-forwarded-for']).toBe(peer);
  expect(seen['x-forwarded-host']).toBe('app.example');
  expect(seen['x-forwarded-proto']).toBe('http');
  expect(seen.forwarded).toBe(`for=${peer};proto=http;host=app.example`);
  expect(seen['x-forwarded-port']).toBeUndefined();
  expect(seen['x-real-ip']).toBeUndefined();
}

function trusted(seen: Seen, peer: string): void {
  expect(seen['x-forwarded-for']).toBe(`1.2.3.4, ${peer}`);
  expect(seen.forwarded).toBe(`for=1.2.3.4;proto=https, for=${peer};proto=http;host=app.example`);
  expect(seen['x-forwarded-host']).toBe('claimed.example');
  expect(seen['x-forwarded-proto']).toBe('https');
  expect(seen['x-forwarded-port']).toBe('443');
  expect(seen['x-real-ip']).toBe('1.2.3.4');
}

describe('forwarding headers (sidecar)', () => {
  it('from an untrusted peer (the default): drops the client’s claims and tells the real peer', async () => {
    const { seen } = await sidecar();
    untrusted(await seen('203.0.113.9'), '203.0.113.9');
  });

  it('with no claims at all, still tells the upstream who connected', async () => {
    const { seen } = await sidecar();
    untrusted(await seen('203.0.113.9', {}), '203.0.113.9');
  });

  it.each([
    ['true', true],
    ['a hop count', 1],
    ['a hop count from the environment', '1'],
    ['a CIDR list', ['198.51.100.0/24', '203.0.113.0/24']],
    ['a comma-separated list from the environment', '198.51.100.1, 203.0.113.9'],
  ])('from a peer trusted by %s: keeps the claims and appends the peer', async (_title, setting) => {
    const { seen } = await sidecar({ trust_proxy: setting });
    trusted(await seen('203.0.113.9'), '203.0.113.9');
  });

  it('a list trusts only the peers on it', async () => {
    const { seen } = await sidecar({ trust_proxy: ['203.0.113.0/24', 'loopback'] });
    untrusted(await seen('198.51.100.7'), '198.51.100.7');
    trusted(await seen('::ffff:127.0.0.1'), '127.0.0.1');
  });

  it('writes an IPv6 peer and a host with a port as RFC 7239 requires', async () => {
    const { seen } = await sidecar();
    const headers = await seen('2001:db8::1', CLAIMS, 'app.example:8080');
    expect(headers['x-forwarded-for']).toBe('2001:db8::1');
    expect(headers.forwarded).toBe('for="[2001:db8::1]";proto=http;host="app.example:8080"');
    expect(headers['x-forwarded-host']).toBe('app.example:8080');
  });

  it('never forwards Prefer, which is addressed to OpenHQM', async () => {
    const { seen } = await sidecar({ trust_proxy: true });
    expect((await seen('203.0.113.9', { prefer: 'wait=10, return=minimal' }))['prefer']).toBeUndefined();
  });

  it('takes the peer from the socket of a real connection', async () => {
    const { upstream, g } = await sidecar();
    const address = await g.app.listen({ host: '127.0.0.1', port: 0 });
    const answer = await rawHttp(Number(new URL(address).port), 'GET /x HTTP/1.1\r\nHost: app.example\r\nX-Forwarded-For: 10.9.9.9\r\nPrefer: wait=10\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(upstream.received[0]?.headers).toMatchObject({ 'x-forwarded-for': '127.0.0.1', forwarded: 'for=127.0.0.1;proto=http;host=app.example' });
  });

  it('a strip_headers entry keeps a forwarding header from the upstream', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: `${upstream.url}/echo`, capture: { enabled: true }, strip_headers: ['Host', 'Connection', 'Forwarded'] } });
    const res = await g.app.inject({ method: 'GET', url: '/x', remoteAddress: '203.0.113.9', headers: { prefer: 'wait=10', forwarded: 'for=1.2.3.4' } });
    expect(res.json<{ headers: Seen }>().headers).toMatchObject({ 'x-forwarded-for': '203.0.113.9' });
    expect(res.json<{ headers: Seen }>().headers.forwarded).toBeUndefined();
  });
});

describe('forwarding headers (gateway: POST /api/v1/submit)', () => {
  async function gateway(api: Record<string, unknown> = {}) {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: `${upstream.url}/echo`, forward_headers: ['*'] }, api });
    const seen = async (transport: Record<string, string>, body: Record<string, string>): Promise<Seen> => {
      const res = await g.app.inject({ method: 'POST', url: '/api/v1/submit?wait=10', remoteAddress: '203.0.113.9', headers: { host: 'gw.example', ...transport }, payload: { payload: {}, headers: body } });
      expect(res.statusCode).toBe(200);
      return res.json<{ result: { headers: Seen } }>().result.headers;
    };
    return { seen };
  }

  it('drops claims made in the body’s headers and tells the peer that submitted', async () => {
    const { seen } = await gateway({ trust_proxy: true });
    const headers = await seen({}, { ...CLAIMS, prefer: 'wait=1', 'x-tenant': 'acme' });
    expect(headers).toMatchObject({ 'x-forwarded-for': '203.0.113.9', forwarded: 'for=203.0.113.9;proto=http;host=gw.example', 'x-forwarded-host': 'gw.example', 'x-tenant': 'acme' });
    expect(headers['x-real-ip']).toBeUndefined();
    expect(headers.prefer).toBeUndefined();
  });

  it('from a trusted peer, keeps the hops its own HTTP headers name', async () => {
    const { seen } = await gateway({ trust_proxy: ['203.0.113.9'] });
    expect(await seen(CLAIMS, {})).toMatchObject({ 'x-forwarded-for': '1.2.3.4, 203.0.113.9', 'x-real-ip': '1.2.3.4', 'x-forwarded-host': 'claimed.example' });
  });

  it('from an untrusted peer, drops the claims of its HTTP headers too', async () => {
    const { seen } = await gateway({ trust_proxy: ['10.0.0.0/8'] });
    const headers = await seen(CLAIMS, {});
    expect(headers).toMatchObject({ 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'http' });
    expect(headers['x-real-ip']).toBeUndefined();
  });
});

describe('api.trust_proxy', () => {
  it.each([
    ['an entry that is no address', 'proxy.internal', /"proxy\.internal" is not an IP address, a CIDR/],
    ['a prefix too long', ['10.0.0.0/33'], /"10\.0\.0\.0\/33" is not an IP address, a CIDR/],
    ['a negative hop count', -1, /hop count cannot be negative/],
    ['a fraction', 1.5, /expected true, false, a hop count or a list/],
  ])('refuses %s, naming it', (_title, value, why) => {
    const parsed = configSchema.safeParse({ api: { trust_proxy: value } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n')).toMatch(why);
  });
});

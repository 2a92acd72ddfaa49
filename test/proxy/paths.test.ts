/**
 * Sidecar paths cannot leave the endpoint's base path. Sent over raw sockets: HTTP clients
 * normalise paths before sending, so they could never send what an attacker sends.
 */
import { describe, expect, it, vi } from 'vitest';
import { HqmEvents } from '../../src/core/events.js';
import { ENVELOPE_VERSION, normalizeMetadata, type Envelope } from '../../src/core/request/envelope.js';
import { newCorrelationId } from '../../src/core/request/ids.js';
import { createProxy } from '../../src/app/proxy.js';
import { configSchema } from '../../src/config/schema.js';
import { proxyGateway } from '../helpers/proxy-gateway.js';
import { rawHttp } from '../helpers/raw-http.js';
import { startUpstream } from '../helpers/upstream.js';

/** Request lines whose path would reach outside /echo under some reading, or that name no path at all. */
const HOSTILE: ReadonlyArray<readonly [string, string]> = [
  ['GET', '/../secret'],
  ['GET', '/a/../../secret'],
  ['GET', '/..\\secret'],
  ['GET', '/a\\..\\..\\secret'],
  ['GET', '/%2e%2e/secret'],
  ['GET', '/%2E%2e/secret'],
  ['GET', '/.%2e/secret'],
  ['GET', '/%2e./secret'],
  ['GET', '/..%2fsecret'],
  ['GET', '/..%2Fsecret'],
  ['GET', '/a/..%2f..%2fsecret'],
  ['GET', '/..%5csecret'],
  ['GET', '/..%5Csecret'],
  ['GET', '/%252e%252e/secret'],
  ['GET', '/%252E%252E%252Fsecret'],
  ['GET', '/%25252e%25252e/secret'],
  ['GET', '/%25%32%65%25%32%65/secret'],
  ['GET', '/..;/secret'],
  ['GET', '/..%00/secret'],
  ['GET', '//../secret'],
  ['GET', '/%252525252525252e/x'],
  ['POST', '/x/%2e%2e/%2e%2e/secret'],
  ['GET', '/a#fragment'],
  ['GET', 'http://evil.example/x'],
  ['POST', 'http://127.0.0.1/x'],
  ['OPTIONS', '*'],
  ['GET', '*'],
];

/** Paths that stay under the base path, and what the upstream receives for each. */
const BENIGN: ReadonlyArray<readonly [string, string]> = [
  ['/a/b', '/echo/a/b'],
  ['/a%20b', '/echo/a%20b'],
  ['/a/./b', '/echo/a/b'],
  ['/a/../b', '/echo/b'],
  ['/a\\b', '/echo/a/b'],
  ['/files/100%25', '/echo/files/100%25'],
  ['/projects/group%2Fname', '/echo/projects/group%2Fname'],
  ['/a/%2e%2e/b', '/echo/b'],
  ['/x..y/..z', '/echo/x..y/..z'],
];

async function sidecar() {
  const upstream = await startUpstream();
  const g = await proxyGateway({ proxy: { default_endpoint: `${upstream.url}/echo`, capture: { enabled: true } } });
  const address = await g.app.listen({ host: '127.0.0.1', port: 0 });
  return { upstream, g, port: Number(new URL(address).port) };
}

function split(answer: string): { status: number; body: string } {
  const end = answer.indexOf('\r\n\r\n');
  return { status: Number(answer.slice(9, 12)), body: answer.slice(end + 4) };
}

describe('sidecar paths', () => {
  it('refuses every target that is not a path under the base with 400, storing nothing', async () => {
    const { upstream, g, port } = await sidecar();
    const created = vi.spyOn(g.store, 'create');
    let submitted = 0;
    g.events.on('request:submitted', () => (submitted += 1));
    for (const [method, target] of HOSTILE) {
      const { status, body } = split(await rawHttp(port, `${method} ${target} HTTP/1.1\r\nHost: app\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`));
      expect(status, `${method} ${target}`).toBe(400);
      expect(JSON.parse(body), `${method} ${target}`).toMatchObject({ code: 'HQM_ERR_UNSAFE_PATH', detail: expect.any(String) });
    }
    expect(created).not.toHaveBeenCalled();
    expect(submitted).toBe(0);
    expect(upstream.received).toHaveLength(0);
  });

  it('captures paths that stay under the base, forwarded as the upstream’s URL parser reads them', async () => {
    const { upstream, port } = await sidecar();
    for (const [path, expected] of BENIGN) {
      const { status, body } = split(await rawHttp(port, `GET ${path}?q=1 HTTP/1.1\r\nHost: app\r\nPrefer: wait=10\r\nConnection: close\r\n\r\n`));
      expect(status, path).toBe(200);
      expect(JSON.parse(body), path).toMatchObject({ path: expected, query: 'q=1' });
    }
    expect(upstream.received.map((r) => r.path)).toEqual(BENIGN.map(([, expected]) => expected));
  });

  it('a captured path is checked again by the worker: a queued request cannot skip the API’s check', async () => {
    const upstream = await startUpstream();
    const config = configSchema.parse({ proxy: { enabled: true, default_endpoint: `${upstream.url}/echo` } });
    const proxy = await createProxy(config.proxy, new HqmEvents());
    try {
      for (const [method, target] of HOSTILE.filter(([, t]) => t.startsWith('/') && !t.includes('#'))) {
        const [path = '', query = ''] = target.split('?');
        const forwarding = proxy.forwarder.forward(captured(method, path, query), { attempt: 1, maxAttempts: 3, signal: new AbortController().signal });
        await expect(forwarding, target).rejects.toMatchObject({ code: 'HQM_ERR_UNSAFE_PATH', retryable: false });
      }
      for (const path of ['http://evil.example/x', '*', 'secret']) {
        await expect(proxy.forwarder.forward(captured('GET', path, ''), { attempt: 1, maxAttempts: 3, signal: new AbortController().signal }), path).rejects.toMatchObject({ code: 'HQM_ERR_UNSAFE_PATH' });
      }
      expect(upstream.received).toHaveLength(0);
      // The check lets a good path through.
      await proxy.forwarder.forward(captured('GET', '/a/./b', 'x=1'), { attempt: 1, maxAttempts: 3, signal: new AbortController().signal });
      expect(upstream.received.map((r) => `${r.path}?${r.query}`)).toEqual(['/echo/a/b?x=1']);
    } finally {
      await proxy.http.close();
    }
  });
});

function captured(method: string, path: string, query: string): Envelope {
  return {
    v: ENVELOPE_VERSION,
    correlation_id: newCorrelationId(Date.now()),
    timestamp: new Date().toISOString(),
    payload: {},
    headers: {},
    metadata: normalizeMetadata({}, { timeout: 30 }),
    request: { method, path, query, headers: { host: 'app' }, body: '', body_encoding: 'utf8' },
    traceparent: null,
  };
}

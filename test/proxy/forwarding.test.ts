/** The proxy processor against a real upstream: endpoints, auth, headers, answers. */
import { describe, expect, it } from 'vitest';
import { proxyGateway } from '../helpers/proxy-gateway.js';
import { watchRecords } from '../helpers/records.js';
import { BINARY, startUpstream } from '../helpers/upstream.js';

describe('proxy: forwarding', () => {
  it('sends the payload as the JSON body to the default endpoint and stores the JSON answer', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: `${upstream.url}/echo` } });
    const id = await g.submit({ order: 42, items: ['a', 'ü'] });
    const record = await g.finished(id);
    expect(record).toMatchObject({ status: 'COMPLETED', outcome: { statusCode: 200 } });
    const echoed = record.outcome?.result as { method: string; body_base64: string; headers: Record<string, string> };
    expect(echoed.method).toBe('POST');
    expect(JSON.parse(Buffer.from(echoed.body_base64, 'base64').toString())).toEqual({ order: 42, items: ['a', 'ü'] });
    expect(echoed.headers['content-type']).toBe('application/json');
    expect(echoed.headers['x-correlation-id']).toBe(id);
    expect(echoed.headers['idempotency-key']).toBe(id);
    expect(record.outcome?.headers?.['x-upstream']).toBe('yes');
  });

  it('uses a named endpoint and a method override from the metadata', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({
      proxy: { default_endpoint: `${upstream.url}/status/500`, endpoints: { echo: { url: `${upstream.url}/echo/named`, method: 'PUT', headers: { 'X-Static': 'from-config' } } } },
    });
    const put = await g.finished(await g.submit({ a: 1 }, { metadata: { endpoint: 'echo' } }));
    expect(put.outcome?.result).toMatchObject({ method: 'PUT', path: '/echo/named', headers: { 'x-static': 'from-config' } });
    const get = await g.finished(await g.submit({ a: 1 }, { metadata: { endpoint: 'echo', method: 'get' } }));
    expect(get.outcome?.result).toMatchObject({ method: 'GET', body_base64: '' });
  });

  it('refuses an unknown endpoint at submit time with 422, storing nothing', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: upstream.url, endpoints: { a: { url: upstream.url } } } });
    const records = watchRecords(g.store);
    const res = await g.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: {}, metadata: { endpoint: 'http://169.254.169.254/' } } });
    expect(res.statusCode).toBe(422);
    expect(res.json().message).toMatch(/unknown endpoint/);
    expect((await g.queue.stats('openhqm-requests')).depth).toBe(0);
    expect(await records.left()).toEqual([]);
  });

  it.each([
    ['bearer', { auth_type: 'bearer', auth_token: 't0k' }, { authorization: 'Bearer t0k' }],
    ['basic', { auth_type: 'basic', auth_username: 'ada', auth_password: 'l0velace' }, { authorization: `Basic ${Buffer.from('ada:l0velace').toString('base64')}` }],
    ['api_key (default header)', { auth_type: 'api_key', auth_token: 'k3y' }, { 'x-api-key': 'k3y' }],
    ['api_key (named header)', { auth_type: 'api_key', auth_token: 'k3y', auth_header_name: 'X-Token' }, { 'x-token': 'k3y' }],
    ['custom', { auth_type: 'custom', auth_token: 'sig=abc', auth_header_name: 'X-Signature' }, { 'x-signature': 'sig=abc' }],
  ])('authenticates with %s, and auth wins over a forwarded header', async (_title, auth, expected) => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: 'api', endpoints: { api: { url: `${upstream.url}/echo`, ...auth } }, forward_headers: ['*'] } });
    const forged = Object.fromEntries(Object.keys(expected).map((name) => [name, 'forged by the client']));
    const record = await g.finished(await g.submit({}, { headers: forged }));
    expect((record.outcome?.result as { headers: Record<string, string> }).headers).toMatchObject(expected);
  });

  it('forwards allowed headers case-insensitively, never hop-by-hop ones, and honours the strip list', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: `${upstream.url}/echo`, forward_headers: ['Accept', 'X-Tenant', 'Connection', 'X-Secret'], strip_headers: ['x-secret'] } });
    const record = await g.finished(
      await g.submit({}, { headers: { accept: 'application/xml', 'X-TENANT': 't1', 'X-Other': 'no', Connection: 'x-tenant', 'Keep-Alive': 'timeout=5', 'X-Secret': 's' } }),
    );
    const seen = (record.outcome?.result as { headers: Record<string, string> }).headers;
    expect(seen.accept).toBe('application/xml');
    expect(seen['x-other']).toBeUndefined();
    expect(seen['x-secret']).toBeUndefined();
    expect(seen['keep-alive']).toBeUndefined();
    // Named in Connection, so hop-by-hop for that hop: not forwarded although allowed.
    expect(seen['x-tenant']).toBeUndefined();
  });

  it('keeps text as {response, content_type} and binary exactly, in base64', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: upstream.url, endpoints: { text: { url: `${upstream.url}/text`, method: 'GET' }, bin: { url: `${upstream.url}/binary`, method: 'GET' } } } });
    const text = await g.finished(await g.submit({}, { metadata: { endpoint: 'text' } }));
    expect(text.outcome?.result).toEqual({ response: 'plain text, ünïcode', content_type: 'text/plain; charset=utf-8' });
    const binary = await g.finished(await g.submit({}, { metadata: { endpoint: 'bin' } }));
    const stored = binary.outcome?.result as { response: string; content_type: string; encoding: string };
    expect(stored).toMatchObject({ content_type: 'application/octet-stream', encoding: 'base64' });
    expect(Buffer.from(stored.response, 'base64').equals(BINARY)).toBe(true);
  });

  it('fails an answer larger than proxy.max_response_size without retrying', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: `${upstream.url}/large?bytes=5000`, max_response_size: 4096 } });
    const record = await g.finished(await g.submit({}));
    expect(record).toMatchObject({ status: 'FAILED', attempt: 1, outcome: { error: expect.stringMatching(/over proxy.max_response_size \(4096 bytes\)/) } });
    expect(upstream.received).toHaveLength(1);
  });
});

import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { testApi } from '../helpers/api.js';
import { rawHttp as raw } from '../helpers/raw-http.js';

function bodyOf(answer: string): unknown {
  return JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
}

describe('errors before a route runs', () => {
  it('a URL that does not decode is 400 with the error body', async () => {
    const { app } = await testApi();
    const res = await app.inject({ method: 'GET', url: '/api/v1/status/%ff' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'HQM_ERR_BAD_REQUEST', detail: expect.stringMatching(/URL/) });
  });

  it('HTTP framing the parser refuses is answered with the error body, not Fastify’s', async () => {
    const { app } = await testApi();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;

    const badLength = await raw(port, 'POST /api/v1/submit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}');
    expect(badLength).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(badLength)).toMatchObject({ code: 'HQM_ERR_BAD_REQUEST', detail: expect.stringMatching(/malformed/) });

    const hugeHeaders = await raw(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(hugeHeaders).toMatch(/^HTTP\/1\.1 431 /);
    expect(bodyOf(hugeHeaders)).toMatchObject({ code: 'HQM_ERR_HEADERS_TOO_LARGE' });
  });

  it('a client that stops sending mid-body gets a 408, not a socket held open', async () => {
    const { app } = await testApi({ requestTimeoutMs: 300 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const cut = await raw(port, 'POST /api/v1/submit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"');
    expect(cut).toMatch(/^HTTP\/1\.1 408 /);
    expect(bodyOf(cut)).toMatchObject({ code: 'HQM_ERR_REQUEST_TIMEOUT' });
  });
});

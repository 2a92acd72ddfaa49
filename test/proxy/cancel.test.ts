import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { proxyGateway } from '../helpers/proxy-gateway.js';
import { deferred } from '../helpers/wait.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

describe('cancelling a proxied request', () => {
  it('aborts the upstream call in flight', async () => {
    const arrived = deferred();
    const hungUp = deferred();
    // An upstream that never answers, and tells when the caller goes away.
    const server = createServer((_req, res) => {
      res.on('close', () => {
        if (!res.writableEnded) hungUp.resolve();
      });
      arrived.resolve();
    });
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const g = await proxyGateway({ proxy: { default_endpoint: url } });
    const id = await g.submit({ hello: 'upstream' });
    await arrived.promise;
    const res = await g.app.inject({ method: 'DELETE', url: `/api/v1/requests/${id}` });
    expect(res.statusCode).toBe(200);
    await hungUp.promise;
    expect((await g.store.get(id))?.status).toBe('CANCELLED');
  });
});

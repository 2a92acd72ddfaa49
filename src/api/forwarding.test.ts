import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { trustFunction } from '../core/trust.js';
import { flatHeaders, forwardingOf, requestForwarding } from './forwarding.js';

const CLAIMS = { 'x-forwarded-for': '1.2.3.4', forwarded: 'for=1.2.3.4' };

function on(socket: object, headers: Record<string, string>): FastifyRequest {
  return { socket, headers } as unknown as FastifyRequest;
}

describe('requestForwarding', () => {
  it('gives what forwardingOf gives, once per connection and Host for an untrusted peer', () => {
    const trust = trustFunction(false);
    const socket = { remoteAddress: '203.0.113.9' };
    const first = requestForwarding(on(socket, { host: 'app.example', ...CLAIMS }), trust);
    expect(first).toEqual(forwardingOf(on(socket, {}), { host: 'app.example' }, trust));
    expect(first['x-forwarded-for']).toBe('203.0.113.9');
    // The same connection and Host: the same object; another Host: told as such.
    expect(requestForwarding(on(socket, { host: 'app.example' }), trust)).toBe(first);
    expect(requestForwarding(on(socket, { host: 'other.example' }), trust)['x-forwarded-host']).toBe('other.example');
    expect(requestForwarding(on(socket, {}), trust)['x-forwarded-host']).toBeUndefined();
    // Another connection from another peer.
    expect(requestForwarding(on({ remoteAddress: '198.51.100.1' }, { host: 'app.example' }), trust)['x-forwarded-for']).toBe('198.51.100.1');
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('keeps a trusted peer’s claims, request by request', () => {
    const trust = trustFunction(true);
    const socket = { remoteAddress: '10.0.0.2' };
    const request = on(socket, { host: 'app.example', ...CLAIMS });
    expect(requestForwarding(request, trust)).toEqual(forwardingOf(request, flatHeaders(request), trust));
    expect(requestForwarding(request, trust)['x-forwarded-for']).toBe('1.2.3.4, 10.0.0.2');
    expect(requestForwarding(on(socket, { host: 'app.example', 'x-forwarded-for': '5.6.7.8' }), trust)['x-forwarded-for']).toBe('5.6.7.8, 10.0.0.2');
  });
});

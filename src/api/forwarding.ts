/** The hop a request came in on, and the forwarding headers it will carry upstream (core/forwarding.ts). */
import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import { forwardingHeaders } from '../core/forwarding.js';
import type { TrustFunction } from '../core/trust.js';

/** The request's headers, one string each (repeated ones joined as HTTP allows). */
export function flatHeaders(request: FastifyRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

export function forwardingOf(request: FastifyRequest, headers: Readonly<Record<string, string>>, trust: TrustFunction): Record<string, string> {
  // The socket's own address, not request.ip: that one is already what a trusted proxy claimed.
  const peer = request.socket.remoteAddress;
  return forwardingHeaders(headers, {
    peer,
    trusted: peer !== undefined && trust(peer, 0),
    proto: (request.socket as Partial<TLSSocket>).encrypted === true ? 'https' : 'http',
    host: headers.host,
  });
}

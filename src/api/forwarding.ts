/** The hop a request came in on, and the forwarding headers it will carry upstream (core/forwarding.ts). */
import type { Socket } from 'node:net';
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

/** What an untrusted peer's requests on one connection carry, by the Host they named. */
interface ConnectionForwarding {
  readonly trusted: boolean;
  host: string | undefined;
  headers: Readonly<Record<string, string>> | undefined;
}

const connections = new WeakMap<Socket, ConnectionForwarding>();

/**
 * forwardingOf for a request whose other headers are not needed: from an untrusted peer the
 * result depends only on the connection (peer, TLS) and the Host, so it is computed once per
 * connection (and again when a request names another Host) instead of per request. The object
 * is frozen: every request of the connection shares it.
 */
export function requestForwarding(request: FastifyRequest, trust: TrustFunction): Readonly<Record<string, string>> {
  const socket = request.socket as Socket | undefined;
  if (socket === undefined) return forwardingOf(request, flatHeaders(request), trust);
  let known = connections.get(socket);
  if (known === undefined) {
    const peer = socket.remoteAddress;
    known = { trusted: peer !== undefined && trust(peer, 0), host: undefined, headers: undefined };
    connections.set(socket, known);
  }
  // A trusted proxy's own X-Forwarded-* headers are kept: they differ per request.
  if (known.trusted) return forwardingOf(request, flatHeaders(request), trust);
  const host = request.headers.host;
  if (known.headers === undefined || known.host !== host) {
    known.host = host;
    known.headers = Object.freeze(forwardingOf(request, host === undefined ? {} : { host }, trust));
  }
  return known.headers;
}

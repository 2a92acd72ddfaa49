/**
 * The forwarding headers a request carries upstream (`X-Forwarded-*`, RFC 7239 `Forwarded`),
 * decided where the client connected — the API — because the peer's address is gone by the
 * time a worker forwards. A trusted peer's (`api.trust_proxy`) are kept and the hop to us is
 * appended; an untrusted client's are dropped and replaced by what we saw, so the upstream is
 * never told an address the client made up. `X-Real-IP` is kept from a trusted peer and
 * dropped otherwise, never invented.
 *
 * @module
 */
import { plainAddress } from './trust.js';

/** Headers that describe the hops a request took: believed only from a trusted peer. */
export function isForwardingHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === 'forwarded' || lower === 'x-real-ip' || lower.startsWith('x-forwarded-');
}

/** The connection a request arrived on, as the API saw it. */
export interface Hop {
  /** The peer's address; undefined when it is not known (the socket already closed). */
  readonly peer: string | undefined;
  /** Whether api.trust_proxy trusts the peer to speak for the client. */
  readonly trusted: boolean;
  readonly proto: 'http' | 'https';
  /** The Host the client asked for, when it sent one. */
  readonly host: string | undefined;
}

/** The forwarding headers (lower-case names) to send upstream for a request that came with `headers` over `hop`. */
export function forwardingHeaders(headers: Readonly<Record<string, string>>, hop: Hop): Record<string, string> {
  const out: Record<string, string> = {};
  if (hop.trusted) {
    for (const [name, value] of Object.entries(headers)) if (isForwardingHeader(name)) out[name.toLowerCase()] = value;
  }
  const node = hop.peer === undefined ? 'unknown' : plainAddress(hop.peer);
  out['x-forwarded-for'] = appended(out['x-forwarded-for'], node);
  out['x-forwarded-proto'] ??= hop.proto;
  if (hop.host !== undefined) out['x-forwarded-host'] ??= hop.host;
  const element = [`for=${forwardedNode(node)}`, `proto=${hop.proto}`, ...(hop.host === undefined ? [] : [`host=${forwardedValue(hop.host)}`])].join(';');
  out.forwarded = appended(out.forwarded, element);
  return out;
}

function appended(list: string | undefined, item: string): string {
  return list === undefined || list.trim() === '' ? item : `${list}, ${item}`;
}

/** RFC 7239 §6: an IPv6 node is bracketed, and then must be quoted. */
function forwardedNode(address: string): string {
  return address.includes(':') ? `"[${address}]"` : forwardedValue(address);
}

/** A token as is; anything else (`host:8080`) as a quoted-string. */
function forwardedValue(value: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

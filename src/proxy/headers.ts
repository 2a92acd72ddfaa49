/**
 * Which headers go upstream, and which come back. Names compare case-insensitively (the
 * original silently dropped a lower-case `accept`). Hop-by-hop headers never cross, nor do
 * the ones named in `Connection`, nor `Prefer` (it asks OpenHQM to wait, not the upstream).
 * Precedence, lowest first: forwarded client headers, the forwarding headers the API decided
 * (which replace any the client sent), headers a route maps from the message, the endpoint's
 * static headers, then auth — so a client can never override credentials.
 *
 * @module
 */
import { isForwardingHeader } from '../core/forwarding.js';
import { connectionTokens, HOP_BY_HOP } from '../core/http.js';
import type { AuthSpec } from './endpoints.js';

/** Request headers addressed to OpenHQM itself. */
const OURS: ReadonlySet<string> = new Set(['prefer']);

export interface HeaderSources {
  readonly forwarded: Readonly<Record<string, string>>;
  /** X-Forwarded-* and Forwarded as the API decided them; null (a message from elsewhere): the forwarded ones pass as they are. */
  readonly forwarding?: Readonly<Record<string, string>> | null;
  /** Headers a route maps from the message: operator configuration, so not filtered by the allow-list. */
  readonly mapped?: Readonly<Record<string, string>>;
  /** Forward every forwarded header except hop-by-hop and stripped ones (captured requests). */
  readonly forwardAll: boolean;
  readonly allow: ReadonlySet<string>;
  readonly strip: ReadonlySet<string>;
  readonly endpoint: Readonly<Record<string, string>>;
  readonly auth: AuthSpec | null;
}

export function outboundHeaders(sources: HeaderSources): Record<string, string> {
  const out: Record<string, string> = {};
  const named = connectionTokens(sources.forwarded);
  const forwardAll = sources.forwardAll || sources.allow.has('*');
  const forwarding = sources.forwarding ?? null;
  for (const [name, value] of Object.entries(sources.forwarded)) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower) || sources.strip.has(lower) || OURS.has(lower)) continue;
    if (forwarding !== null && isForwardingHeader(lower)) continue;
    if (forwardAll || sources.allow.has(lower)) out[lower] = value;
  }
  for (const [name, value] of Object.entries(forwarding ?? {})) {
    const lower = name.toLowerCase();
    if (!sources.strip.has(lower)) out[lower] = value;
  }
  for (const [name, value] of Object.entries(sources.mapped ?? {})) {
    const lower = name.toLowerCase();
    if (!HOP_BY_HOP.has(lower)) out[lower] = value;
  }
  for (const [name, value] of Object.entries(sources.endpoint)) out[name.toLowerCase()] = value;
  for (const [name, value] of Object.entries(authHeaders(sources.auth))) out[name.toLowerCase()] = value;
  return out;
}

export function authHeaders(auth: AuthSpec | null): Record<string, string> {
  if (auth === null) return {};
  switch (auth.type) {
    case 'bearer':
      return { authorization: `Bearer ${auth.token}` };
    case 'basic':
      return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
    case 'api_key':
    case 'custom':
      return { [auth.header]: auth.token };
  }
}

/** Upstream response headers worth keeping: everything end-to-end. */
export function inboundHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  const named = connectionTokens(headers);
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) && lower !== 'content-length') continue;
    if (named.has(lower)) continue;
    out[lower] = value;
  }
  return out;
}

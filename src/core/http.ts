/**
 * HTTP facts shared by the ingress (capture, replay) and the egress (proxy): which headers
 * belong to one hop only, and how a body is kept byte for byte.
 *
 * @module
 */
import type { RawBody } from './errors.js';

/** Headers that describe one connection, never forwarded (RFC 9110 §7.6.1), plus framing ones. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
]);

/** Header names a `Connection: a, b` header declares hop-by-hop for this hop. */
export function connectionTokens(headers: Readonly<Record<string, string>>): Set<string> {
  const tokens = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'connection') continue;
    for (const token of value.split(',')) tokens.add(token.trim().toLowerCase());
  }
  return tokens;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of `bytes` if they are valid UTF-8, else undefined. */
export function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The body byte for byte, as UTF-8 text when it is text and base64 otherwise. */
export function rawBody(body: Buffer): RawBody {
  const text = utf8Text(body);
  return text === undefined ? { data: body.toString('base64'), encoding: 'base64' } : { data: text, encoding: 'utf8' };
}

export function rawBytes(raw: RawBody): Buffer {
  return raw.encoding === 'base64' ? Buffer.from(raw.data, 'base64') : Buffer.from(raw.data, 'utf8');
}

/** An absolute http: or https: URL. */
export function isHttpUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

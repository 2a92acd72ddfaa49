import { describe, expect, it } from 'vitest';
import { forwardingHeaders, isForwardingHeader } from './forwarding.js';

describe('forwarding headers', () => {
  it('knows the family: Forwarded, X-Real-IP and every X-Forwarded-*', () => {
    for (const name of ['Forwarded', 'x-real-ip', 'X-Forwarded-Prefix', 'x-forwarded-for']) expect(isForwardingHeader(name), name).toBe(true);
    for (const name of ['x-forwarded', 'forwarded-for', 'x-request-id']) expect(isForwardingHeader(name), name).toBe(false);
  });

  it('quotes what is not a token in Forwarded, and says unknown for a peer that is gone', () => {
    const headers = forwardingHeaders({}, { peer: undefined, trusted: false, proto: 'https', host: 'a"b\\c' });
    expect(headers).toEqual({
      'x-forwarded-for': 'unknown',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'a"b\\c',
      forwarded: 'for=unknown;proto=https;host="a\\"b\\\\c"',
    });
  });

  it('from a trusted peer, appends to an empty claim as to none', () => {
    expect(forwardingHeaders({ 'x-forwarded-for': ' ' }, { peer: '10.0.0.1', trusted: true, proto: 'http', host: undefined })['x-forwarded-for']).toBe('10.0.0.1');
  });
});

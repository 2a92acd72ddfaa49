import { describe, expect, it } from 'vitest';
import { capturedTarget, MAX_DECODINGS, pathProblem } from './target.js';

describe('captured request targets', () => {
  it('splits the query off as sent and normalises the path as the WHATWG URL parser does', () => {
    expect(capturedTarget('/a/./b/../c\\d?x=%2e%2e&y')).toEqual({ path: '/a/c/d', query: 'x=%2e%2e&y' });
    expect(capturedTarget('/caf\u00e9 menu')).toEqual({ path: '/caf%C3%A9%20menu', query: '' });
  });

  it('reads through as many rounds of percent-encoding as it allows, and refuses deeper nesting', () => {
    // A dot that takes `rounds` decodings to appear: %2e, %252e, %25252e, …
    const dot = (rounds: number): string => `%${'25'.repeat(rounds - 1)}2e`;
    const nested = (rounds: number): string => `/${dot(rounds)}${dot(rounds)}/x`;
    expect(pathProblem(nested(MAX_DECODINGS))).toMatch(/climbs above its root once percent-decoded/);
    expect(pathProblem(nested(MAX_DECODINGS + 1))).toMatch(/percent-encoded more than 4 times/);
    expect(pathProblem('/files/100%25/%2525')).toBeUndefined();
  });

  it('names what is wrong with a target that is not a path', () => {
    expect(() => capturedTarget('*')).toThrow(/asterisk-form/);
    expect(() => capturedTarget('http://h/x')).toThrow(/not an absolute URL/);
    expect(() => capturedTarget('/a#b')).toThrow(/fragment/);
  });
});

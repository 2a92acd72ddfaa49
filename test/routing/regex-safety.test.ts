/**
 * Regexes that come from a routes file or a request (item 1 of issue 9): `(a+)+$` against 31
 * `a`s and a `!` froze API and workers together for ~13 s, doubling per character. Each place a
 * regex enters is tried through the route simulator (a request's routes) and the router (a
 * file's routes); each must answer correctly, or refuse the pattern, without freezing.
 *
 * A pattern that froze the event loop would still answer correctly once it ended: `turn()`
 * after it lets the test's own timeout (5 s) fire first, so a freeze fails the test rather than
 * passing late.
 */
import { describe, expect, it } from 'vitest';
import { isHqmError } from '../../src/core/errors.js';
import { compileSafePattern, PatternError } from '../../src/routing/routes/regex.js';
import { Router, RoutesError } from '../../src/routing/router.js';
import { proxyGateway } from '../helpers/proxy-gateway.js';

const HOSTILE = `${'a'.repeat(31)}!`;
const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));
const message = (payload: Record<string, unknown>, metadata: Record<string, unknown> = {}) => ({ correlation_id: '0193f1c2-7a4b-7c3d-8e9f-0a1b2c3d4e5f', payload, headers: {}, metadata });

async function simulator() {
  const g = await proxyGateway({
    proxy: { endpoints: { a: { url: 'http://127.0.0.1:9/a' }, fallback: { url: 'http://127.0.0.1:9/f' } } },
    routing: { enabled: true, config_dict: { routes: [], default_endpoint: 'fallback' } },
  });
  return async (routes: Record<string, unknown>, msg: Record<string, unknown>) => {
    const res = await g.app.inject({ method: 'POST', url: '/api/v1/routes/test', payload: { routes: { default_endpoint: 'fallback', ...routes }, message: msg } });
    await turn();
    return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
  };
}

describe('a catastrophic regex sent to the route simulator', () => {
  it('match_pattern: answers at once, and correctly (no match: the fallback)', async () => {
    const simulate = await simulator();
    const routes = { routes: [{ name: 'evil', match_field: 'payload.s', match_pattern: '(a+)+$', endpoint: 'a' }] };
    expect(await simulate(routes, message({ s: HOSTILE }))).toMatchObject({ status: 200, body: { route_name: null, endpoint: 'fallback' } });
    expect(await simulate(routes, message({ s: 'a'.repeat(31) }))).toMatchObject({ status: 200, body: { route_name: 'evil' } });
  });

  it('a condition regex: answers at once, and correctly', async () => {
    const simulate = await simulator();
    const routes = { routes: [{ name: 'evil', endpoint: 'a', conditions: [{ type: 'payload', field: 's', operator: 'regex', value: '(a+)+$' }] }] };
    expect(await simulate(routes, message({ s: HOSTILE }))).toMatchObject({ status: 200, body: { route_name: null } });
    expect(await simulate(routes, message({ s: `!${'a'.repeat(31)}` }))).toMatchObject({ status: 200, body: { route_name: 'evil' } });
  });

  it('a JSONata regex literal ($match): answers at once, and correctly', async () => {
    const simulate = await simulator();
    const routes = { routes: [{ name: 'evil', endpoint: 'a', transform_type: 'jsonata', transform: '{"n": $count($match(payload.s, /(a+)+$/)), "parts": $split(payload.t, /,+/)}' }] };
    expect(await simulate(routes, message({ s: HOSTILE, t: 'x,,y' }))).toMatchObject({ status: 200, body: { payload: { n: 0, parts: ['x', 'y'] } } });
    expect(await simulate(routes, message({ s: 'aaa', t: '' }))).toMatchObject({ status: 200, body: { payload: { n: 1 } } });
  });

  it('a JSONPath filter cannot call a regex (or any) method: refused with a 422 naming the route', async () => {
    const simulate = await simulator();
    const routes = { routes: [{ name: 'evil', endpoint: 'a', transform_type: 'jsonpath', transform: '$.payload.items[?(@.s.match("(a+)+$"))]' }] };
    const answer = await simulate(routes, message({ items: [{ s: HOSTILE }] }));
    expect(answer.status).toBe(422);
    expect(answer.body.error).toMatch(/route "evil": jsonpath transform does not compile: method calls are not allowed/);
  });

  it('jq test(): bounded by Oniguruma’s retry limit and jq’s own thread', async () => {
    const simulate = await simulator();
    const routes = { routes: [{ name: 'evil', endpoint: 'a', transform_type: 'jq', transform: '{m: (.payload.s | test("(a+)+$"))}' }] };
    const answer = await simulate(routes, message({ s: HOSTILE }));
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({ code: 'HQM_ERR_TRANSFORM', error: expect.stringMatching(/route "evil": jq failed: (.*retry-limit|.*Regex failure|jq ran longer than 1000 ms)/) });
  });

  it('a pattern that needs backtracking and could backtrack catastrophically is refused with a 422 naming the route', async () => {
    const simulate = await simulator();
    for (const pattern of ['(a|a)*\\1', '(a+)+(?=!)', '(?P<x>a+)+(?P=x)']) {
      const answer = await simulate({ routes: [{ name: 'evil', match_field: 'payload.s', match_pattern: pattern, endpoint: 'a' }] }, message({ s: HOSTILE }));
      expect(answer.status).toBe(422);
      expect(answer.body).toMatchObject({ code: 'HQM_ERR_ROUTES_INVALID', error: expect.stringMatching(/route "evil": match_pattern is not a valid regular expression: .*exponential time/) });
    }
  });
});

describe('a catastrophic regex in the routes in force', () => {
  it('routes by match_pattern and conditions correctly, without freezing', async () => {
    const router = await Router.compile({
      routes: [
        { name: 'by-pattern', match_field: 'payload.s', match_pattern: '(a+)+$', endpoint: 'p' },
        { name: 'by-condition', endpoint: 'c', conditions: [{ type: 'metadata', field: 's', operator: 'regex', value: '(a+)+$' }] },
      ],
      default_endpoint: 'fallback',
    });
    expect((await router.route(message({ s: HOSTILE }, { s: HOSTILE }))).endpoint).toBe('fallback');
    await turn();
    expect((await router.route(message({ s: HOSTILE }, { s: 'baa' }))).endpoint).toBe('c');
  });

  it('refuses a catastrophic pattern that needs backtracking at load, naming the route', async () => {
    const error = await Router.compile({ routes: [{ name: 'evil', endpoint: 'x', conditions: [{ type: 'payload', field: 's', operator: 'regex', value: '((a+)+)\\2' }] }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RoutesError);
    expect((error as Error).message).toMatch(/route "evil": condition regex is invalid: .*exponential time/);
  });

  it('refuses a catastrophic JSONata regex literal that needs backtracking at load', async () => {
    const error = await Router.compile({ routes: [{ name: 'evil', endpoint: 'x', transform_type: 'jsonata', transform: '$match(payload.s, /(a|a)*\\1/)' }] }).catch((e: unknown) => e);
    expect(isHqmError(error) && error.code).toBe('HQM_ERR_ROUTES_INVALID');
    expect((error as Error).message).toMatch(/route "evil": jsonata transform does not compile: regex \/\(a\|a\)\*\\1\/ is refused/);
  });
});

describe('which engine runs a pattern', () => {
  it('RE2 for everything it can express, Python’s syntax included', () => {
    for (const pattern of ['(a+)+$', '(?P<kind>user)\\.', '(?i)ORDER', '[[:alpha:]]+\\d', '(?<=x)y', '\\u0041']) {
      expect(compileSafePattern(pattern, { flavor: 'python', anchored: false }).engine).toBe('re2');
    }
    const insensitive = compileSafePattern('(?i)order\\.', { flavor: 'python', anchored: true });
    expect([insensitive.test('ORDER.create'), insensitive.test('x.order.')]).toEqual([true, false]);
  });

  it('JavaScript’s only for backreferences and lookahead that show no sign of catastrophic backtracking', () => {
    const notInternal = compileSafePattern('(?!internal\\.)\\w+', { flavor: 'python', anchored: true });
    expect(notInternal.engine).toBe('javascript');
    expect([notInternal.test('public.x'), notInternal.test('internal.x')]).toEqual([true, false]);
    const twice = compileSafePattern('(?P<w>\\w+)-(?P=w)', { flavor: 'python', anchored: true });
    expect([twice.test('ab-ab'), twice.test('ab-cd')]).toEqual([true, false]);
    expect(() => compileSafePattern('(x|y)+\\1', { flavor: 'python', anchored: false })).toThrow(PatternError);
    expect(() => compileSafePattern('(unclosed', { flavor: 'python', anchored: false })).toThrow(PatternError);
  });
});

import { describe, expect, it } from 'vitest';
import { isHqmError } from '../../src/core/errors.js';
import { Router, RoutesError } from '../../src/routing/router.js';

const message = (payload: Record<string, unknown>, metadata: Record<string, unknown> = {}, headers: Record<string, string> = {}) => ({
  correlation_id: '0193f1c2-7a4b-7c3d-8e9f-0a1b2c3d4e5f',
  payload,
  headers,
  metadata,
});

async function refusal(routes: unknown, options?: Parameters<typeof Router.compile>[1]): Promise<string> {
  try {
    await Router.compile(routes, options);
  } catch (error) {
    if (error instanceof RoutesError) return error.message;
    throw error;
  }
  throw new Error('expected the routes to be refused');
}

describe('matching', () => {
  it('tries routes by priority, highest first, file order among equals', async () => {
    const router = await Router.compile({
      routes: [
        { name: 'low', match_field: 'metadata.type', match_value: 'a', priority: 1, endpoint: 'low' },
        { name: 'high-1', match_field: 'metadata.type', match_value: 'a', priority: 9, endpoint: 'h1' },
        { name: 'high-2', match_field: 'metadata.type', match_value: 'a', priority: 9, endpoint: 'h2' },
      ],
    });
    expect((await router.route(message({}, { type: 'a' }))).route_name).toBe('high-1');
  });

  it('anchors regexes at the start, like Python re.match, and accepts Python named groups', async () => {
    const router = await Router.compile({
      routes: [{ name: 'n', match_field: 'metadata.type', match_pattern: '(?P<kind>notification)\\.(?P=kind)?', endpoint: 'x' }],
      default_endpoint: 'fallback',
    });
    expect((await router.route(message({}, { type: 'notification.email' }))).route_name).toBe('n');
    expect((await router.route(message({}, { type: 'x.notification.email' }))).route_name).toBeNull();
  });

  it('compares values as text the way the original did', async () => {
    const router = await Router.compile({
      routes: [
        { name: 'num', match_field: 'payload.n', match_value: 42, endpoint: 'a' },
        { name: 'bool', match_field: 'payload.flag', match_value: 'True', endpoint: 'b' },
      ],
    });
    expect((await router.route(message({ n: 42 }))).route_name).toBe('num');
    expect((await router.route(message({ flag: true }))).route_name).toBe('bool');
  });

  it('uses the default route when nothing else matches, whatever its priority', async () => {
    const router = await Router.compile({
      routes: [
        { name: 'catch-all', is_default: true, priority: 100, endpoint: 'd' },
        { name: 'specific', match_field: 'metadata.type', match_value: 'x', endpoint: 's' },
      ],
    });
    expect((await router.route(message({}, { type: 'x' }))).route_name).toBe('specific');
    expect((await router.route(message({}, { type: 'y' }))).route_name).toBe('catch-all');
  });

  it('falls back to default_endpoint with the payload, or fails without it', async () => {
    const routes = [{ name: 'only', match_field: 'metadata.type', match_value: 'x', endpoint: 'a' }];
    const fallback = await Router.compile({ routes, default_endpoint: 'fb' });
    expect(await fallback.route(message({ keep: 1 }, { type: 'nope' }))).toMatchObject({ route_name: null, endpoint: 'fb', payload: { keep: 1 } });
    const strict = await Router.compile({ routes, default_endpoint: 'fb', enable_fallback: false });
    const error = await strict.route(message({}, { type: 'nope' })).catch((e: unknown) => e);
    expect(isHqmError(error) && error.code).toBe('HQM_ERR_NO_ROUTE');
  });

  it('skips disabled routes', async () => {
    const router = await Router.compile({ routes: [{ name: 'off', enabled: false, endpoint: 'a' }, { name: 'on', endpoint: 'b' }] });
    expect((await router.route(message({}))).route_name).toBe('on');
  });

  it('evaluates route-manager conditions on payload, headers and metadata, AND or OR', async () => {
    const router = await Router.compile({
      routes: [
        {
          name: 'all',
          priority: 2,
          endpoint: 'a',
          conditions: [
            { type: 'payload', field: 'order.total', operator: 'exists' },
            { type: 'header', field: 'x-tenant', operator: 'equals', value: 'acme' },
            { type: 'metadata', field: 'channel', operator: 'regex', value: 'web|app' },
          ],
        },
        {
          name: 'any',
          priority: 1,
          endpoint: 'b',
          conditionOperator: 'OR',
          conditions: [
            { type: 'payload', field: 'note', operator: 'contains', value: 'urgent' },
            { type: 'metadata', field: 'vip', operator: 'equals', value: true },
          ],
        },
      ],
      default_endpoint: 'none',
    });
    expect((await router.route(message({ order: { total: 5 } }, { channel: 'mobile-app' }, { 'X-Tenant': 'acme' }))).route_name).toBe('all');
    expect((await router.route(message({ order: { total: 5 } }, { channel: 'fax' }, { 'X-Tenant': 'acme' }))).route_name).toBeNull();
    expect((await router.route(message({ note: 'very urgent' }))).route_name).toBe('any');
    expect((await router.route(message({}, { vip: true }))).route_name).toBe('any');
  });
});

describe('transforms', () => {
  it('JSONata reshapes the message', async () => {
    const router = await Router.compile({
      routes: [{ name: 'j', endpoint: 'a', transform_type: 'jsonata', transform: '{"total": $sum(payload.items.(qty * price)), "id": correlation_id}' }],
    });
    const result = await router.route(message({ items: [{ qty: 2, price: 3 }, { qty: 1, price: 4 }] }));
    expect(result.payload).toEqual({ total: 10, id: '0193f1c2-7a4b-7c3d-8e9f-0a1b2c3d4e5f' });
  });

  it('templates insert strings, numbers and objects JSON-safely', async () => {
    const router = await Router.compile({
      routes: [{ name: 't', endpoint: 'a', transform_type: 'template', transform: '{"name": "{{payload.name}}", "n": {{payload.n}}, "obj": {{payload.obj}}, "raw": {{payload.name}}, "missing": {{payload.nope}}, "inside": "x{{payload.nope}}y"}' }],
    });
    const result = await router.route(message({ name: 'quote " and \\ backslash', n: 3.5, obj: { a: [1] } }));
    expect(result.payload).toEqual({ name: 'quote " and \\ backslash', n: 3.5, obj: { a: [1] }, raw: 'quote " and \\ backslash', missing: null, inside: 'xnully' });
  });

  it('templates print booleans and null inside a string as the original did (Python str), and keep JSON outside one', async () => {
    const router = await Router.compile({
      routes: [{ name: 't', endpoint: 'a', transform_type: 'template', transform: '{"yes": "{{payload.yes}}", "no": "flag={{payload.no}}", "none": "{{payload.none}}", "gone": "{{payload.gone}}", "json": [{{payload.yes}}, {{payload.no}}, {{payload.none}}]}' }],
    });
    const result = await router.route(message({ yes: true, no: false, none: null }));
    expect(result.payload).toEqual({ yes: 'True', no: 'flag=False', none: 'null', gone: 'null', json: [true, false, null] });
  });

  it('JSONPath wraps a non-object result as {result}', async () => {
    const router = await Router.compile({ routes: [{ name: 'p', endpoint: 'a', transform_type: 'jsonpath', transform: '$.payload.items[*].sku' }] });
    expect((await router.route(message({ items: [{ sku: 'a' }, { sku: 'b' }] }))).payload).toEqual({ result: ['a', 'b'] });
  });

  it('a transform that fails on a message is a clear, permanent error naming the route', async () => {
    const router = await Router.compile({ routes: [{ name: 'bad-math', endpoint: 'a', transform_type: 'jq', transform: '.payload.name + 1' }] });
    const error = await router.route(message({ name: 'x' })).catch((e: unknown) => e);
    expect(isHqmError(error) && error.code).toBe('HQM_ERR_TRANSFORM');
    expect(isHqmError(error) && error.retryable).toBe(false);
    expect((error as Error).message).toMatch(/route "bad-math": jq failed: .*cannot be added/);
  });
});

describe('transforms that do not end', () => {
  it.each([
    ['jq', 'if .payload.loop then (def f: f; f) else .payload end', /route "spin": jq failed: jq ran longer than 1000 ms/],
    ['jsonata', '$$.payload.loop ? ($f := function($x){ $f($x) }; $f(1)) : $$.payload', /route "spin": JSONata failed: Evaluation timeout/],
  ])('%s: fails the message after the time limit without stopping the process, then serves the next', async (type, transform, expected) => {
    const router = await Router.compile({ routes: [{ name: 'spin', endpoint: 'a', transform_type: type, transform }] });
    const error = await router.route(message({ loop: true })).catch((e: unknown) => e);
    expect(isHqmError(error) && error.code).toBe('HQM_ERR_TRANSFORM');
    expect((error as Error).message).toMatch(expected);
    expect((await router.route(message({ loop: false, ok: 1 }))).payload).toEqual({ loop: false, ok: 1 });
  });

  it('jq spins on its own thread: timers keep firing meanwhile', async () => {
    const router = await Router.compile({ routes: [{ name: 'spin', endpoint: 'a', transform_type: 'jq', transform: 'def f: f; f' }] });
    const order: string[] = [];
    const spinning = router.route(message({})).catch(() => order.push('jq gave up'));
    await new Promise((resolve) => setTimeout(resolve, 1)).then(() => order.push('timer'));
    await spinning;
    expect(order).toEqual(['timer', 'jq gave up']);
  });
});

describe('validation at load', () => {
  it('names each broken route and why', async () => {
    const text = await refusal({
      routes: [
        { name: 'regex', match_field: 'a', match_pattern: '(unclosed', endpoint: 'x' },
        { name: 'jq', transform_type: 'jq', transform: '.a | nosuchfn', endpoint: 'x' },
        { name: 'tpl', transform_type: 'template', transform: '{"a": {{x}', endpoint: 'x' },
        { name: 'empty', transform_type: 'jsonata', endpoint: 'x' },
        { name: 'd1', is_default: true, endpoint: 'x' },
        { name: 'd2', is_default: true, endpoint: 'x' },
        { name: 'd3', is_default: true, endpoint: 'x', transform_type: 'jsonata' },
        { name: 'kind', transform_type: 'xslt', endpoint: 'x' },
      ],
    });
    expect(text).toMatch(/route "regex": match_pattern is not a valid regular expression/);
    expect(text).toMatch(/route "jq": jq transform does not compile: jq: error: nosuchfn\/0 is not defined/);
    expect(text).toMatch(/route "tpl": template transform does not compile/);
    expect(text).toMatch(/route "empty": transform_type jsonata needs a transform/);
    // A default route that is itself broken still counts: all three are named at once.
    expect(text).toMatch(/more than one default route \("d1", "d2", "d3"\)/);
    expect(text).toMatch(/route "kind": transform_type: expected one of/);
  });

  it('refuses an endpoint neither configured nor a URL, or only warns (simulator)', async () => {
    const routes = { routes: [{ name: 'r', endpoint: 'ghost' }, { name: 'u', endpoint: 'http://svc/x' }] };
    const known = (name: string): boolean => name === 'real';
    expect(await refusal(routes, { endpointKnown: known })).toMatch(/route "r": endpoint "ghost" is neither configured in proxy\.endpoints nor a URL/);
    const lenient = await Router.compile(routes, { endpointKnown: known, unknownEndpoint: 'warn' });
    expect(lenient.warnings).toEqual([{ route: 'r', message: expect.stringMatching(/ghost/) }]);
  });
});

describe('queue selection (a route files requests into a named queue)', () => {
  const routes = {
    routes: [
      { name: 'ai', match_field: 'payload.kind', match_value: 'inference', endpoint: 'ai', queue: 'ai' },
      { name: 'mail', match_field: 'payload.kind', match_value: 'mail', endpoint: 'mail' },
      { name: 'fallback', is_default: true, endpoint: 'other', queue: 'batched' },
    ],
  };

  it('answers the queue of the route a message matches, the default route\'s when none does, null when the route names none', async () => {
    const router = await Router.compile(routes, { queues: ['default', 'ai', 'batched'] });
    expect(await router.queueOf(message({ kind: 'inference' }))).toBe('ai');
    expect(await router.queueOf(message({ kind: 'mail' }))).toBeNull();
    expect(await router.queueOf(message({ kind: 'anything else' }))).toBe('batched');
  });

  it('refuses a route naming a queue that is not configured, listing the known ones', async () => {
    const text = await refusal(routes, { queues: ['default', 'ai'] });
    expect(text).toContain('fallback');
    expect(text).toContain('queue "batched" is not configured (known: default, ai)');
  });
});

/**
 * Transforms are bounded in what they build and in how long they hold jq (item 1 of issue 9):
 * every transform's output is capped (routing.max_transform_output_bytes), a template is
 * measured while it is rendered, and jq calls are bounded from submission, on threads of
 * their own for live traffic and for the simulator.
 */
import { describe, expect, it } from 'vitest';
import { DeferralError, isHqmError } from '../../src/core/errors.js';
import { Router } from '../../src/routing/router.js';
import { JqPool } from '../../src/routing/transform/jq.js';

const message = (payload: Record<string, unknown>) => ({ correlation_id: '0193f1c2-7a4b-7c3d-8e9f-0a1b2c3d4e5f', payload, headers: {}, metadata: {} });

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error('expected the routing to fail');
  return error;
}

describe('the output of every transform is capped', () => {
  const big = 'x'.repeat(200 * 1024);

  it('template: a 200 KB value repeated 2,600 times fails as soon as it passes the cap', async () => {
    const template = `{"copies": [${Array.from({ length: 2600 }, () => '"{{payload.big}}"').join(', ')}]}`;
    const router = await Router.compile({ routes: [{ name: 'amplify', endpoint: 'a', transform_type: 'template', transform: template }] });
    const before = process.memoryUsage().heapUsed;
    const error = await failure(router.route(message({ big })));
    expect(isHqmError(error) && error.code).toBe('HQM_ERR_TRANSFORM');
    expect(error.message).toMatch(/route "amplify": the transform's output is larger than 1048576 bytes \(routing\.max_transform_output_bytes; raise it/);
    // Rendering all of it would have held 520 MB; stopping at the cap holds about one MiB.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024);
  });

  it.each([
    ['jq', '.payload | [., ., ., ., ., .]'],
    ['jsonata', '$join([1..100000].("0123456789abcdef"))'],
    ['jsonpath', '$..*'],
    ['template', '{"a": {{payload}}, "b": {{payload}}, "c": {{payload}}, "d": {{payload}}, "e": {{payload}}, "f": {{payload}}}'],
  ])('%s: an output over the cap fails that request with HQM_ERR_TRANSFORM', async (type, transform) => {
    const router = await Router.compile({ routes: [{ name: 'grow', endpoint: 'a', transform_type: type, transform }] });
    // Nested, so `$..*` returns the big string once per level.
    const payload = { l1: { l2: { l3: { l4: { l5: { l6: { big } } } } } } };
    const error = await failure(router.route(message(payload)));
    expect(isHqmError(error) && error.code).toBe('HQM_ERR_TRANSFORM');
    expect(isHqmError(error) && error.retryable).toBe(false);
    expect(error.message).toMatch(/route "grow": the transform's output is larger than 1048576 bytes/);
  });

  it('the cap is configurable', async () => {
    const routes = { routes: [{ name: 'grow', endpoint: 'a', transform_type: 'jsonata', transform: '$join([1..100000].("0123456789abcdef"))' }] };
    const raised = await Router.compile(routes, { maxTransformOutputBytes: 4 * 1024 * 1024 });
    expect(((await raised.route(message({}))).payload as string).length).toBe(1_600_000);
    const lowered = await Router.compile({ routes: [{ name: 'small', endpoint: 'a', transform_type: 'jq', transform: '.payload' }] }, { maxTransformOutputBytes: 1024 });
    expect((await failure(lowered.route(message({ s: 'y'.repeat(2000) })))).message).toMatch(/larger than 1024 bytes/);
    expect((await lowered.route(message({ s: 'fits' }))).payload).toEqual({ s: 'fits' });
  });
});

describe('jq calls are bounded from the moment they are submitted', () => {
  const spin = 'if .payload.loop then (def f: f; f) else .payload end';

  it('thirty looping programs cannot hold up the calls behind them: those are deferred as busy (back to the queue, no attempt spent), and the pool recovers', async () => {
    const pool = new JqPool('test', 2);
    const router = await Router.compile({ routes: [{ name: 'spin', endpoint: 'a', transform_type: 'jq', transform: spin }] }, { jq: pool });
    const settled: string[] = [];
    const loops = Array.from({ length: 30 }, (_, i) => router.route(message({ loop: true })).catch((e: unknown) => void settled.push(`loop ${i}: ${(e as Error).message}`)));
    const behind = failure(router.route(message({ loop: false, ok: 1 }))).then((error) => {
      settled.push('behind');
      return error;
    });
    const error = await behind;
    expect(error).toBeInstanceOf(DeferralError);
    expect(isHqmError(error) && error.code).toBe('HQM_ERR_OVERLOADED');
    expect(error.message).toMatch(/route "spin": jq is busy: no test jq thread was free within 1000 ms/);
    // It did not wait for the thirty loops: at most the first few had ended when it failed.
    expect(settled.indexOf('behind')).toBeLessThan(29);
    await Promise.all(loops);
    expect(settled.filter((s) => /jq ran longer than 1000 ms/.test(s)).length).toBeGreaterThanOrEqual(2);
    expect((await router.route(message({ loop: false, ok: 2 }))).payload).toEqual({ loop: false, ok: 2 });
  });

  it('the simulator has its own jq thread: its looping programs never delay live traffic', async () => {
    const traffic = new JqPool('traffic-test', 1);
    const simulator = new JqPool('simulator-test', 1);
    const router = await Router.compile({ routes: [{ name: 'spin', endpoint: 'a', transform_type: 'jq', transform: spin }] }, { jq: traffic });
    const order: string[] = [];
    const simulated = Array.from({ length: 3 }, () => router.route(message({ loop: true }), { jq: simulator }).catch(() => void order.push('simulation ended')));
    const live = await router.route(message({ loop: false, live: true }));
    order.push('live traffic served');
    expect(live.payload).toEqual({ loop: false, live: true });
    await Promise.all(simulated);
    expect(order[0]).toBe('live traffic served');
  });
});

/** Protecting a fragile upstream: concurrency limit, rate limit, circuit breaker. */
import { describe, expect, it } from 'vitest';
import { proxyGateway } from '../helpers/proxy-gateway.js';
import { startUpstream } from '../helpers/upstream.js';

describe('proxy: protecting the upstream', () => {
  it('never lets the upstream see more concurrent calls than max_concurrency', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({
      proxy: { default_endpoint: 'legacy', endpoints: { legacy: { url: `${upstream.url}/hold?ms=40`, max_concurrency: 3 } } },
      worker: { count: 12 },
    });
    const ids = await Promise.all(Array.from({ length: 30 }, () => g.submit({})));
    for (const id of ids) expect(await g.finished(id)).toMatchObject({ status: 'COMPLETED' });
    expect(upstream.maxConcurrent()).toBe(3);
  });

  it('spaces calls to the rate limit', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: 'api', endpoints: { api: { url: `${upstream.url}/echo`, rate_limit_per_second: 10 } } }, worker: { count: 8 } });
    const ids = await Promise.all(Array.from({ length: 25 }, () => g.submit({})));
    for (const id of ids) expect(await g.finished(id)).toMatchObject({ status: 'COMPLETED' });
    const times = upstream.received.map((r) => r.at).sort((a, b) => a - b);
    // A burst of 10, then one every 100 ms: 25 calls cannot fit in less than 1.5 s (unlimited,
    // they take a few ms). The margin absorbs a late receipt stamp of the first call on a busy machine.
    expect((times.at(-1) ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(1000);
  });

  it('opens the circuit after consecutive failures, holds requests in the queue, and closes after a good probe', async () => {
    const upstream = await startUpstream();
    let healthy = false;
    upstream.program = () => (healthy ? { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' } : { status: 503, body: 'down' });
    const g = await proxyGateway({
      proxy: { default_endpoint: `${upstream.url}/programmed`, circuit_breaker: { failure_threshold: 3, reset_timeout_seconds: 0.3 } },
      worker: { count: 4, max_retries: 20, retry_delay_base: 0.01, retry_delay_max: 0.02 },
    });
    const states: string[] = [];
    g.events.on('circuit:changed', ({ state }) => {
      states.push(state);
      // The upstream heals as the breaker lets its probe through: that probe must close it. (Were
      // it healed earlier, a call admitted before the circuit opened could close it instead.)
      if (state === 'half_open') healthy = true;
    });
    let deferred = 0;
    // Counted at the first deferral itself: the listener is in place before any request is submitted.
    let callsAtFirstDeferral = -1;
    const firstDeferral = new Promise<void>((resolve) =>
      g.events.on('request:deferred', () => {
        deferred += 1;
        if (deferred > 1) return;
        callsAtFirstDeferral = upstream.received.length;
        resolve();
      }),
    );
    const ids = await Promise.all(Array.from({ length: 6 }, () => g.submit({})));
    await firstDeferral;
    for (const id of ids) expect(await g.finished(id)).toMatchObject({ status: 'COMPLETED', outcome: { result: { ok: true } } });
    expect(states[0]).toBe('open');
    // Closed by a probe that got through while half-open, not by anything else.
    expect(states.slice(-2)).toEqual(['half_open', 'closed']);
    expect(deferred).toBeGreaterThan(0);
    // Deferred requests did not call the upstream while the circuit was open: 3 failures opened
    // it, and at most the calls already in flight (worker.count) followed.
    expect(callsAtFirstDeferral).toBeLessThanOrEqual(3 + 4);
    const trails = await Promise.all(ids.map((id) => g.store.events(id)));
    expect(trails.some((trail) => trail.some((e) => e.error?.startsWith('deferred:') === true))).toBe(true);
  });
});

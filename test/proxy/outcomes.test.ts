/** Which upstream answers are retried, relayed, or failed; deadlines; unreachable upstreams. */
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/servers.js';
import { proxyGateway } from '../helpers/proxy-gateway.js';
import { startUpstream } from '../helpers/upstream.js';

const fastRetries = { max_retries: 2, retry_delay_base: 0.02, retry_delay_max: 0.05 };

describe('proxy: outcomes', () => {
  it('retries a 500 and, after the last attempt, relays it as COMPLETED with its status and body', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: `${upstream.url}/status/500`, circuit_breaker: { failure_threshold: 0 } }, worker: fastRetries });
    const record = await g.finished(await g.submit({}));
    expect(record).toMatchObject({ status: 'COMPLETED', attempt: 3, outcome: { statusCode: 500, result: { status: 500 } } });
    expect(upstream.received).toHaveLength(3);
    const res = await g.app.inject({ method: 'GET', url: `/api/v1/response/${record.id}` });
    expect(res.json()).toMatchObject({ status: 'COMPLETED', status_code: 500, result: { status: 500 } });
  });

  it('with fail_on_status, ends FAILED after the retries, keeping the answer, and dead-letters it', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({
      proxy: { default_endpoint: `${upstream.url}/status/503`, fail_on_status: ['500-599'], circuit_breaker: { failure_threshold: 0 } },
      worker: fastRetries,
    });
    const record = await g.finished(await g.submit({}));
    expect(record).toMatchObject({ status: 'FAILED', attempt: 3, outcome: { statusCode: 503, result: { status: 503 }, error: expect.stringMatching(/answered 503/) } });
    expect((await g.queue.stats('openhqm-requests')).deadLettered).toBe(1);
  });

  it('does not retry a 4xx and relays it', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: `${upstream.url}/status/404` }, worker: fastRetries });
    const record = await g.finished(await g.submit({}));
    expect(record).toMatchObject({ status: 'COMPLETED', attempt: 1, outcome: { statusCode: 404 } });
    expect(upstream.received).toHaveLength(1);
  });

  it('honours Retry-After of a 429 before trying again', async () => {
    const upstream = await startUpstream();
    upstream.program = (call) => (call === 0 ? { status: 429, headers: { 'retry-after': '1' }, body: 'slow down' } : { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });
    const g = await proxyGateway({ proxy: { default_endpoint: `${upstream.url}/programmed` }, worker: fastRetries });
    const record = await g.finished(await g.submit({}));
    expect(record).toMatchObject({ status: 'COMPLETED', attempt: 2, outcome: { statusCode: 200, result: { ok: true } } });
    const [first, second] = upstream.received;
    // Without Retry-After the fast retry policy would call again within milliseconds; the
    // margin absorbs a late receipt stamp of the first call on a busy machine.
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(800);
  });

  it('ends in TIMEOUT when the request deadline passes during the upstream call', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({ proxy: { default_endpoint: `${upstream.url}/slow?ms=5000` } });
    const record = await g.finished(await g.submit({}, { metadata: { timeout: 0.3 } }));
    expect(record).toMatchObject({ status: 'TIMEOUT', outcome: { error: expect.stringMatching(/deadline/) } });
  });

  it('retries an unreachable upstream, then fails and dead-letters the request', async () => {
    const port = await freePort();
    const g = await proxyGateway({ proxy: { default_endpoint: `http://127.0.0.1:${port}/nobody`, circuit_breaker: { failure_threshold: 0 } }, worker: fastRetries });
    const id = await g.submit({});
    const record = await g.finished(id);
    expect(record).toMatchObject({ status: 'FAILED', attempt: 3, outcome: { error: expect.stringMatching(/cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/) } });
    const [dead] = await g.queue.deadLetters('openhqm-requests', { limit: 1 });
    expect(JSON.parse(dead?.body ?? '{}').correlation_id).toBe(id);
    expect((await g.store.events(id)).filter((e) => e.error !== null)).toHaveLength(3);
  });

  it('an endpoint timeout is a retryable failure', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({
      proxy: { default_endpoint: 'slow', endpoints: { slow: { url: `${upstream.url}/slow?ms=2000`, timeout: 0.1 } }, circuit_breaker: { failure_threshold: 0 } },
      worker: { max_retries: 1, retry_delay_base: 0.01, retry_delay_max: 0.01 },
    });
    const record = await g.finished(await g.submit({}));
    expect(record).toMatchObject({ status: 'FAILED', attempt: 2, outcome: { error: expect.stringMatching(/did not answer within 100 ms/) } });
  });
});

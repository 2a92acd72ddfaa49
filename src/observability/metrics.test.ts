import { describe, expect, it } from 'vitest';
import { HqmEvents } from '../core/events.js';
import { Metrics } from './metrics.js';

describe('Metrics', () => {
  it('shows an endpoint’s circuit as closed from its first call, then follows its changes', async () => {
    const metrics = new Metrics();
    const events = new HqmEvents();
    metrics.observe(events, 'w-1');
    const circuit = async (): Promise<string[]> => (await metrics.registry.metrics()).split('\n').filter((line) => line.startsWith('openhqm_proxy_circuit_state{'));
    expect(await circuit()).toEqual([]);
    events.emit('upstream:response', { endpoint: 'billing', status: 200, durationMs: 3 });
    expect(await circuit()).toEqual(['openhqm_proxy_circuit_state{endpoint="billing"} 0']);
    events.emit('circuit:changed', { endpoint: 'billing', state: 'open' });
    events.emit('upstream:error', { endpoint: 'billing', code: 'HQM_ERR_UPSTREAM_UNREACHABLE', durationMs: 1 });
    expect(await circuit()).toEqual(['openhqm_proxy_circuit_state{endpoint="billing"} 1']);
  });
});

describe('Metrics tallies', () => {
  it('writes the per-request counters and histograms as prom-client would', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const events = new HqmEvents();
    metrics.observe(events, 'w-1');
    const lines = async (prefix: string): Promise<string[]> => (await metrics.registry.metrics()).split('\n').filter((line) => line.startsWith(prefix));
    // Nothing shows before its first update.
    expect(await lines('openhqm_worker_processing_duration_seconds')).toEqual([]);
    expect(await lines('openhqm_worker_active')).toEqual([]);
    metrics.recordApiRequest('POST', '/api/v1/submit', 202, 0.002);
    metrics.recordApiRequest('POST', '/api/v1/submit', 202, 0.2);
    metrics.recordApiRequest('GET', 'unmatched', 404, 0.0001);
    expect(await lines('openhqm_api_requests_total')).toEqual([
      'openhqm_api_requests_total{method="POST",endpoint="/api/v1/submit",status="202"} 2',
      'openhqm_api_requests_total{method="GET",endpoint="unmatched",status="404"} 1',
    ]);
    const submit = await lines('openhqm_api_request_duration_seconds_bucket{le="0.0025",method="POST"');
    expect(submit).toEqual(['openhqm_api_request_duration_seconds_bucket{le="0.0025",method="POST",endpoint="/api/v1/submit"} 1']);
    expect(await lines('openhqm_api_request_duration_seconds_bucket{le="+Inf",method="POST"')).toEqual(['openhqm_api_request_duration_seconds_bucket{le="+Inf",method="POST",endpoint="/api/v1/submit"} 2']);
    expect(await lines('openhqm_api_request_duration_seconds_sum{method="POST"')).toEqual(['openhqm_api_request_duration_seconds_sum{method="POST",endpoint="/api/v1/submit"} 0.202']);
    events.emit('request:completed', { id: 'a', queue: 'q', attempt: 1, durationMs: 30 });
    events.emit('request:failed', { id: 'b', queue: 'q', attempt: 1, durationMs: 7000, error: new Error('x') });
    events.emit('worker:busy', { active: 3 });
    expect(await lines('openhqm_worker_processing_duration_seconds_count')).toEqual([
      'openhqm_worker_processing_duration_seconds_count{status="success"} 1',
      'openhqm_worker_processing_duration_seconds_count{status="failed"} 1',
    ]);
    expect(await lines('openhqm_queue_finished_total')).toEqual(['openhqm_queue_finished_total{queue_name="q",outcome="completed"} 1', 'openhqm_queue_finished_total{queue_name="q",outcome="failed"} 1']);
    expect(await lines('openhqm_worker_errors_total')).toEqual(['openhqm_worker_errors_total{error_type="fatal"} 1']);
    expect(await lines('openhqm_worker_active')).toEqual(['openhqm_worker_active{worker_id="w-1"} 3']);
    // The JSON a cluster member sends its primary (D151) has the same series.
    const json = await metrics.registry.getMetricsAsJSON();
    expect(json.find((m) => m.name === 'openhqm_api_requests_total')).toMatchObject({ type: 'counter', aggregator: 'sum', values: expect.arrayContaining([{ labels: { method: 'GET', endpoint: 'unmatched', status: '404' }, value: 1 }]) });
  });
});

describe('Metrics tallies after a reset', () => {
  it('zeroes the series and keeps counting into them', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.recordApiRequest('GET', '/x', 200, 0.001);
    metrics.registry.resetMetrics();
    metrics.recordApiRequest('GET', '/x', 200, 0.001);
    expect((await metrics.registry.metrics()).split('\n').filter((l) => l.startsWith('openhqm_api_requests_total{'))).toEqual(['openhqm_api_requests_total{method="GET",endpoint="/x",status="200"} 1']);
  });
});

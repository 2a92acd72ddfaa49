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

/**
 * The route simulator and the live server route every message the same way (item 12 of issue
 * 9). The API turns `"priority": "high"` into 5 and fills in defaults (`queue`, `timeout`, …)
 * before the message is queued; routes see the metadata as the client sent it, as the
 * original did, on both sides.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage, routingView } from '../../src/core/request/envelope.js';
import { proxyGateway } from '../helpers/proxy-gateway.js';
import { startUpstream } from '../helpers/upstream.js';

const ENDPOINTS = ['word', 'number', 'queue', 'rest'] as const;

describe('the route simulator and the server agree', () => {
  it('on metadata the API normalises: priority names, filled-in defaults, and what a transform sees', async () => {
    const upstream = await startUpstream();
    const g = await proxyGateway({
      proxy: { endpoints: Object.fromEntries(ENDPOINTS.map((name) => [name, { url: `${upstream.url}/echo/${name}` }])) },
      routing: {
        enabled: true,
        config_dict: {
          routes: [
            { name: 'by-word', priority: 3, match_field: 'metadata.priority', match_value: 'high', endpoint: 'word' },
            { name: 'by-number', priority: 2, match_field: 'metadata.priority', match_pattern: '[5-9]$', endpoint: 'number' },
            { name: 'by-queue', priority: 1, endpoint: 'queue', conditions: [{ type: 'metadata', field: 'queue', operator: 'exists' }] },
            { name: 'rest', is_default: true, endpoint: 'rest', transform_type: 'jsonata', transform: '{"metadata": metadata}' },
          ],
        },
      },
    });
    const cases: Record<string, unknown>[] = [{ priority: 'high' }, { priority: 'HIGH' }, { priority: 'urgent' }, { priority: 5 }, { priority: 7 }, { priority: 2 }, {}, { queue: 'default' }, { type: 'x', timeout: 30 }];
    for (const metadata of cases) {
      const payload = { n: 1 };
      const simulated = await g.app.inject({ method: 'POST', url: '/api/v1/routes/test', payload: { message: { payload, metadata } } });
      expect(simulated.statusCode).toBe(200);
      const expected = simulated.json<{ endpoint: string; payload: unknown }>();

      const before = upstream.received.length;
      const record = await g.finished(await g.submit(payload, { metadata }));
      expect(record.status).toBe('COMPLETED');
      const sent = upstream.received[before];
      expect({ metadata, endpoint: sent?.path }).toEqual({ metadata, endpoint: `/echo/${expected.endpoint}` });
      expect({ metadata, body: JSON.parse(sent?.body.toString() ?? 'null') as unknown }).toEqual({ metadata, body: expected.payload });
    }
  });
});

describe('routingView', () => {
  it('shows an outside producer’s envelope as it was written, and a bare message without the gateway’s defaults', () => {
    const raw = JSON.stringify({ correlation_id: '0193f1c2-7a4b-7c3d-8e9f-0a1b2c3d4e5f', payload: {}, metadata: { priority: 'high', tenant: 'acme' } });
    const decoded = decodeMessage(raw, { timeout: 300 });
    if (decoded.kind !== 'envelope') throw new Error('not decoded as an envelope');
    expect(decoded.envelope.metadata).toMatchObject({ priority: 5, queue: 'default', tenant: 'acme' });
    expect(routingView(decoded.envelope as unknown as Record<string, unknown>).metadata).toEqual({ priority: 'high', tenant: 'acme' });
  });
});

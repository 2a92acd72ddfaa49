/** A route's `queue` files a submission that names no metadata.queue into that named queue. */
import { describe, expect, it } from 'vitest';
import { Router } from '../../src/routing/router.js';
import { testApi } from '../helpers/api.js';

const QUEUES = new Map([
  ['default', 'openhqm-requests'],
  ['ai', 'openhqm-requests.ai'],
]);

async function routedApi() {
  const router = await Router.compile(
    { routes: [{ name: 'ai', match_field: 'payload.kind', match_value: 'inference', endpoint: 'ai', queue: 'ai', timeout: 5 }], default_endpoint: 'other' },
    { queues: [...QUEUES.keys()] },
  );
  return testApi({ queues: QUEUES, queueTimeouts: new Map([['ai', 900]]), routeQueue: (s) => router.queueOf(s) });
}

describe('a route selects the queue', () => {
  it('files a matching request into the route\'s queue, with that queue\'s deadline; others stay on default', async () => {
    const api = await routedApi();
    const routed = await api.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: { kind: 'inference' } } });
    expect(routed.statusCode, routed.body).toBe(202);
    const id = routed.json<{ correlation_id: string }>().correlation_id;
    const record = await api.store.get(id);
    expect(record?.queue).toBe('ai');
    expect((record?.deadlineAt ?? 0) - (record?.submittedAt ?? 0)).toBe(900_000);
    expect((await api.queue.stats('openhqm-requests.ai')).depth).toBe(1);

    const plain = await api.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: { kind: 'mail' } } });
    expect((await api.store.get(plain.json<{ correlation_id: string }>().correlation_id))?.queue).toBe('default');
  });

  it('leaves a request that names its queue where the client put it', async () => {
    const api = await routedApi();
    const res = await api.app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: { kind: 'inference' }, metadata: { queue: 'default' } } });
    expect((await api.store.get(res.json<{ correlation_id: string }>().correlation_id))?.queue).toBe('default');
    expect((await api.queue.stats('openhqm-requests.ai')).depth).toBe(0);
  });
});

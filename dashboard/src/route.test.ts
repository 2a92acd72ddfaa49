import { describe, expect, it } from 'vitest';
import { parseRoute, routeHash } from './route.js';

describe('route', () => {
  it('reads the view, a request id and the filters from the fragment', () => {
    expect(parseRoute('')).toMatchObject({ view: 'queues' });
    expect(parseRoute('#/unknown')).toMatchObject({ view: 'queues' });
    expect(parseRoute('#/dead-letters?queue=high')).toMatchObject({ view: 'dead-letters' });
    expect(parseRoute('#/dead-letters?queue=high').params.get('queue')).toBe('high');
    expect(parseRoute('#/requests/0193f1c2-7b1e-7cc0-9a4e-2f1d3c4b5a69')).toMatchObject({ view: 'request', id: '0193f1c2-7b1e-7cc0-9a4e-2f1d3c4b5a69' });
    expect(parseRoute('#/simulator')).toMatchObject({ view: 'simulator' });
  });

  it('writes what it reads', () => {
    const params = new URLSearchParams({ status: 'FAILED', queue: 'a b' });
    const hash = routeHash({ view: 'requests', params });
    expect(hash).toBe('#/requests?status=FAILED&queue=a+b');
    expect(parseRoute(hash).params.get('queue')).toBe('a b');
    expect(parseRoute(routeHash({ view: 'request', id: 'x/y' }))).toMatchObject({ view: 'request', id: 'x/y' });
  });
});

/**
 * Which view the page shows, kept in the URL's fragment (`#/requests/<id>`), so views can be
 * bookmarked and the server needs one route only. Never a credential: that stays in
 * sessionStorage. Pure: unit-tested in route.test.ts.
 *
 * @module
 */

export type View = 'queues' | 'requests' | 'request' | 'dead-letters' | 'simulator';

export interface Route {
  readonly view: View;
  /** The request of the `request` view. */
  readonly id?: string;
  /** Filters of the list views. */
  readonly params: URLSearchParams;
}

const LIST_VIEWS: ReadonlySet<string> = new Set(['queues', 'requests', 'dead-letters', 'simulator']);

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = raw.split('?', 2);
  const params = new URLSearchParams(query);
  const segments = path.split('/').filter((s) => s !== '');
  const [first, second] = segments;
  if (first === 'requests' && second !== undefined) return { view: 'request', id: decodeURIComponent(second), params };
  if (first !== undefined && LIST_VIEWS.has(first)) return { view: first as View, params };
  return { view: 'queues', params };
}

export function routeHash(route: { view: View; id?: string; params?: URLSearchParams }): string {
  const path = route.view === 'request' ? `requests/${encodeURIComponent(route.id ?? '')}` : route.view;
  const query = route.params?.toString() ?? '';
  return `#/${path}${query === '' ? '' : `?${query}`}`;
}

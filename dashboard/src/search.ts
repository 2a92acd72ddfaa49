/**
 * The request search form and its query string (GET /api/v1/requests). Times are typed in the
 * browser's local time (datetime-local) and sent as instants with their offset, as the API
 * wants. Pure: unit-tested in search.test.ts.
 *
 * @module
 */

export interface SearchForm {
  readonly id: string;
  readonly status: string;
  readonly queue: string;
  /** `YYYY-MM-DDTHH:mm` (datetime-local), or ''. */
  readonly since: string;
  readonly until: string;
}

export const EMPTY_SEARCH: SearchForm = { id: '', status: '', queue: '', since: '', until: '' };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether the id field holds a correlation id (then the search opens that request). */
export function isCorrelationId(text: string): boolean {
  return UUID.test(text.trim());
}

/** A datetime-local value as an ISO instant (UTC); undefined when empty or not a time. */
export function localToIso(local: string): string | undefined {
  if (local.trim() === '') return undefined;
  const at = new Date(local);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}

/** An ISO instant as a datetime-local value in the browser's zone. */
export function isoToLocal(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return '';
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

/** The query of the search, or the problem with the form (shown beside it, nothing sent). */
export function searchQuery(form: SearchForm, limit: number, cursor?: string): { query: URLSearchParams } | { problem: string } {
  const query = new URLSearchParams();
  if (form.status !== '') query.set('status', form.status);
  if (form.queue !== '') query.set('queue', form.queue);
  const since = localToIso(form.since);
  const until = localToIso(form.until);
  if (form.since !== '' && since === undefined) return { problem: '“since” is not a time' };
  if (form.until !== '' && until === undefined) return { problem: '“until” is not a time' };
  if (since !== undefined && until !== undefined && since > until) return { problem: '“until” is before “since”' };
  if (since !== undefined) query.set('since', since);
  if (until !== undefined) query.set('until', until);
  query.set('limit', String(limit));
  if (cursor !== undefined) query.set('cursor', cursor);
  return { query };
}

/** The form's filters as the hash keeps them (so a search can be bookmarked and reloaded). */
export function formToParams(form: SearchForm): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of ['status', 'queue', 'since', 'until'] as const) if (form[key] !== '') params.set(key, form[key]);
  return params;
}

export function paramsToForm(params: URLSearchParams): SearchForm {
  return { id: '', status: params.get('status') ?? '', queue: params.get('queue') ?? '', since: params.get('since') ?? '', until: params.get('until') ?? '' };
}

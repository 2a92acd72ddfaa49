/**
 * The secondary indexes of `ResultStore.list` for stores that keep them by hand (memory,
 * Redis): one ordered index per combination of equality filters, so every query, whatever
 * filters it names, is one range read on one index (never a scan that filters as it goes).
 *
 * A record is in, for each scope it belongs to (every tenant, and its own tenant if it has
 * one): `all`, `status`, `queue` and `queue + status`. The two with the status move when the
 * status does. Names are plain text; the queue comes last, so any character in it is fine
 * (tenant names and statuses hold no `|` or `=`).
 *
 * @module
 */
import type { Status } from '../../core/request/lifecycle.js';
import { positionKey, timeKey, type ListQuery } from '../../core/request/list.js';

export interface IndexedAttributes {
  readonly tenant: string | null;
  readonly queue: string;
}

function scopes(tenant: string | null): string[] {
  return tenant === null ? ['*'] : ['*', `t=${tenant}`];
}

/** The indexes that do not depend on the status. */
export function fixedIndexes(record: IndexedAttributes): string[] {
  return scopes(record.tenant).flatMap((scope) => [`${scope}|a`, `${scope}|q=${record.queue}`]);
}

/** The indexes for the record while it has `status`. */
export function statusIndexes(record: IndexedAttributes, status: Status): string[] {
  return scopes(record.tenant).flatMap((scope) => [`${scope}|s=${status}`, `${scope}|qs=${status}=${record.queue}`]);
}

/** The one index that answers `query` (the time bounds and the position are ranges within it). */
export function indexFor(query: Pick<ListQuery, 'tenant' | 'status' | 'queue'>): string {
  const scope = query.tenant === undefined ? '*' : `t=${query.tenant}`;
  if (query.status !== undefined && query.queue !== undefined) return `${scope}|qs=${query.status}=${query.queue}`;
  if (query.status !== undefined) return `${scope}|s=${query.status}`;
  if (query.queue !== undefined) return `${scope}|q=${query.queue}`;
  return `${scope}|a`;
}

/** The exclusive upper end of a query's range of position keys: below its cursor, and not after `until`. */
export function upperBound(query: Pick<ListQuery, 'before' | 'until'>): string | undefined {
  const bounds: string[] = [];
  if (query.before !== undefined) bounds.push(positionKey(query.before));
  // Every key of the millisecond after `until` sorts at or after its bare time key.
  if (query.until !== undefined) bounds.push(timeKey(query.until + 1));
  return bounds.length === 0 ? undefined : bounds.reduce((a, b) => (a < b ? a : b));
}

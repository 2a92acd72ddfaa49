/**
 * Finding requests (`GET /api/v1/requests`): the query a store answers from an index, the
 * order every store keeps, and the opaque cursor that carries a page's end to the next call.
 *
 * Order: newest first by `submittedAt`, ties by id (both descending), so one position
 * (submittedAt, id) splits any result into "already shown" and "still to come". A cursor is
 * that position, and the next page is everything strictly older: records added meanwhile are
 * newer than every cursor handed out, so paging neither skips nor repeats while submits go on.
 *
 * @module
 */
import type { Status } from './lifecycle.js';

/** Where a page ended: the last record it held (or, for a short page, the last index entry looked at). */
export interface ListPosition {
  readonly submittedAt: number;
  readonly id: string;
}

export interface ListQuery {
  /** Only this tenant's requests; undefined: every tenant's (an admin, or no authentication). */
  readonly tenant?: string;
  readonly status?: Status;
  readonly queue?: string;
  /** Submitted at or after this instant (epoch ms). */
  readonly since?: number;
  /** Submitted at or before this instant (epoch ms). */
  readonly until?: number;
  /** Only records strictly older than this position (the previous page's cursor). */
  readonly before?: ListPosition;
  /** Most records in the page (1..LIST_MAX_LIMIT). */
  readonly limit: number;
}

export interface ListPage<R> {
  /** Newest first; at most `limit`, and fewer only when a store stopped early (see `next`). */
  readonly records: readonly R[];
  /** Where to go on from, or null once nothing older matches. A short page with a `next` is not the end. */
  readonly next: ListPosition | null;
}

export const LIST_DEFAULT_LIMIT = 50;
export const LIST_MAX_LIMIT = 1000;

/** Enough digits for any epoch millisecond up to the year 33658, so text order is time order. */
const TIME_DIGITS = 15;

/**
 * A position as text whose byte order is the list order (ascending): stores that keep an
 * index as sorted strings (the memory store, Redis sorted sets by lex) compare these.
 */
export function positionKey(position: ListPosition): string {
  return `${timeKey(position.submittedAt)}:${position.id}`;
}

export function positionFromKey(key: string): ListPosition {
  const colon = key.indexOf(':');
  return { submittedAt: Number(key.slice(0, colon)), id: key.slice(colon + 1) };
}

/** The time part of a position key, padded: every key of that millisecond sorts after it. */
export function timeKey(ms: number): string {
  return String(Math.max(0, Math.trunc(ms))).padStart(TIME_DIGITS, '0');
}

/** Whether `a` comes before `b` in ascending position order (older, or same time and smaller id). */
export function positionBefore(a: ListPosition, b: ListPosition): boolean {
  return a.submittedAt < b.submittedAt || (a.submittedAt === b.submittedAt && a.id < b.id);
}

const CURSOR_VERSION = 1;

/** The cursor a client sees: opaque (base64url of a small JSON), so its form may change. */
export function encodeCursor(position: ListPosition): string {
  return Buffer.from(JSON.stringify([CURSOR_VERSION, position.submittedAt, position.id])).toString('base64url');
}

/** The position a cursor names; undefined when it is not one this version issued. */
export function decodeCursor(cursor: string): ListPosition | undefined {
  if (cursor.length === 0 || cursor.length > 512 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) return undefined;
  const [version, submittedAt, id] = parsed as unknown[];
  if (version !== CURSOR_VERSION || !Number.isSafeInteger(submittedAt) || (submittedAt as number) < 0) return undefined;
  if (typeof id !== 'string' || id.length === 0 || id.length > 256) return undefined;
  return { submittedAt: submittedAt as number, id };
}

/** Whether a record of these attributes belongs in the query's result (filters only, not the position). */
export function matchesListQuery(query: ListQuery, record: { readonly tenant: string | null; readonly status: Status; readonly queue: string; readonly submittedAt: number }): boolean {
  if (query.tenant !== undefined && record.tenant !== query.tenant) return false;
  if (query.status !== undefined && record.status !== query.status) return false;
  if (query.queue !== undefined && record.queue !== query.queue) return false;
  if (query.since !== undefined && record.submittedAt < query.since) return false;
  if (query.until !== undefined && record.submittedAt > query.until) return false;
  return true;
}

/**
 * `list` in SQL: one statement per combination of filters, each answered by walking one of the
 * list indexes (sql.ts) backwards from its upper bound — equality columns first, then
 * (submitted_at, id) — so a page is a range read in list order, never a scan nor a sort. The
 * expiry check is a filter on the rows the walk meets; LIMIT counts only rows that pass it, so a
 * page is never cut down after the fact.
 *
 * @module
 */
import type { ListQuery } from '../../../core/request/list.js';
import { RECORD_COLUMNS } from '../../shared/postgres/sql.js';

export function listStatement(query: ListQuery, now: number): { text: string; values: unknown[] } {
  const values: unknown[] = [now];
  const where = ['expires_at > $1'];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  if (query.tenant !== undefined) where.push(`tenant = ${param(query.tenant)}`);
  if (query.queue !== undefined) where.push(`queue = ${param(query.queue)}`);
  if (query.status !== undefined) where.push(`status = ${param(query.status)}`);
  if (query.since !== undefined) where.push(`submitted_at >= ${param(query.since)}`);
  if (query.until !== undefined) where.push(`submitted_at <= ${param(query.until)}`);
  // A row comparison: PostgreSQL walks the (…, submitted_at, id) index from this position.
  if (query.before !== undefined) where.push(`(submitted_at, id) < (${param(query.before.submittedAt)}, ${param(query.before.id)})`);
  // One row more than the page tells whether another page follows.
  const limit = param(query.limit + 1);
  return {
    text: `SELECT ${RECORD_COLUMNS} FROM hqm_requests WHERE ${where.join(' AND ')} ORDER BY submitted_at DESC, id DESC LIMIT ${limit}`,
    values,
  };
}

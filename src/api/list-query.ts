/**
 * `GET /api/v1/requests` query parameters → a store's ListQuery. Every problem is named in one
 * 422 (HQM_ERR_VALIDATION, `query.<name>`): an unknown status lists the valid ones, an unknown
 * queue the known ones, a cursor that is not one we issued says so.
 *
 * @module
 */
import type { Principal } from '../core/access.js';
import { HqmError, ValidationError, type FieldIssue } from '../core/errors.js';
import { isStatus, STATUSES } from '../core/request/lifecycle.js';
import { decodeCursor, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, type ListQuery } from '../core/request/list.js';

export interface ListParams {
  readonly status?: string;
  readonly queue?: string;
  readonly tenant?: string;
  readonly since?: string;
  readonly until?: string;
  readonly limit?: string;
  readonly cursor?: string;
}

/**
 * ISO 8601 as RFC 3339 writes it: a date, or a date and time with a zone (`Z` or ±hh:mm). A
 * time without a zone would be read in the server's local time, so it is refused.
 */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * The query for `principal`: a caller who is not an admin sees its own tenant's requests only,
 * so its tenant is part of the index read (never a filter after paging). An admin, or anyone
 * when authentication is off, sees every tenant's and may name one with `tenant`.
 */
export function parseListQuery(params: ListParams, principal: Principal | null, queues: ReadonlySet<string>): ListQuery {
  const issues: FieldIssue[] = [];
  const { status, queue, tenant, cursor } = params;
  if (status !== undefined && !isStatus(status)) issues.push({ path: 'query.status', message: `unknown status "${status}"; valid: ${STATUSES.join(', ')}` });
  if (queue !== undefined && !queues.has(queue)) issues.push({ path: 'query.queue', message: `unknown queue "${queue}"; known: ${[...queues].join(', ')}` });
  const since = instant(params.since, 'since', issues);
  const until = instant(params.until, 'until', issues);
  if (since !== undefined && until !== undefined && since > until) issues.push({ path: 'query.until', message: 'must not be before since' });
  const limit = parseLimit(params.limit, issues);
  const before = cursor === undefined ? undefined : decodeCursor(cursor);
  if (cursor !== undefined && before === undefined) issues.push({ path: 'query.cursor', message: 'is not a cursor this API issued (pass next_cursor of the previous page unchanged)' });
  if (issues.length > 0) throw new ValidationError(issues);
  const ownTenant = scopeOf(principal, tenant);
  return {
    limit,
    ...(ownTenant === undefined ? {} : { tenant: ownTenant }),
    ...(status === undefined ? {} : { status: status as ListQuery['status'] }),
    ...(queue === undefined ? {} : { queue }),
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    ...(before === undefined ? {} : { before }),
  };
}

/** The tenant the read is confined to; undefined: every tenant's. */
function scopeOf(principal: Principal | null, asked: string | undefined): string | undefined {
  // Without authentication there is no principal, and everything is visible (as `sees` says).
  if (principal === null || principal.roles.has('admin')) return asked;
  const own = principal?.tenant ?? undefined;
  if (asked !== undefined && asked !== own) throw new HqmError('HQM_ERR_FORBIDDEN', 'only an admin may list another tenant\'s requests');
  return own;
}

function instant(raw: string | undefined, name: string, issues: FieldIssue[]): number | undefined {
  if (raw === undefined) return undefined;
  const ms = ISO_DATE.test(raw) || ISO_DATE_TIME.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(ms) || ms < 0) {
    issues.push({ path: `query.${name}`, message: 'must be an ISO 8601 date (2025-01-31) or date-time with a zone (2025-01-31T12:00:00Z)' });
    return undefined;
  }
  return ms;
}

function parseLimit(raw: string | undefined, issues: FieldIssue[]): number {
  if (raw === undefined || raw === '') return LIST_DEFAULT_LIMIT;
  const n = /^\d{1,7}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 1 && n <= LIST_MAX_LIMIT)) issues.push({ path: 'query.limit', message: `must be an integer from 1 to ${LIST_MAX_LIMIT}` });
  return n;
}

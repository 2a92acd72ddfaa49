/**
 * Per-tenant concurrency: at most `limit` requests of one tenant PROCESSING at once, across
 * every worker sharing a result store. The store is the authority: it refuses a claim that
 * would take one slot too many in the same atomic step as the claim (see ResultStore). These
 * are the rules every store applies, so they live in one place.
 *
 * @module
 */
import type { Status } from './lifecycle.js';
import type { RequestRecord } from './record.js';

/**
 * Whether applying a move to `to` takes one of the record's tenant's slots. A takeover
 * (PROCESSING → PROCESSING by a later attempt after a lost worker) keeps the slot it already
 * holds, so a request is counted once however often it is taken over; a request without a
 * tenant (submitted without authentication) is never limited.
 */
export function takesTenantSlot(current: Pick<RequestRecord, 'status' | 'tenant'>, to: Status): current is Pick<RequestRecord, 'status'> & { tenant: string } {
  return to === 'PROCESSING' && current.status !== 'PROCESSING' && current.tenant !== null;
}

/**
 * Until when a PROCESSING record holds its tenant's slot. Past its deadline no worker runs it
 * any more (the attempt aborts there), so a record left PROCESSING by a worker that died and
 * whose message is gone frees its slot at its deadline instead of holding it for its TTL.
 */
export function slotHeldUntil(record: Pick<RequestRecord, 'deadlineAt' | 'expiresAt'>): number {
  return record.deadlineAt === null ? record.expiresAt : Math.min(record.deadlineAt, record.expiresAt);
}

export interface TenantLimitSettings {
  readonly max_concurrency?: number | null | undefined;
}

/** The configured limit of a tenant: its own entry's, else the default's; null: no limit. */
export function concurrencyLimitOf(tenants: Readonly<Record<string, TenantLimitSettings>>, fallback: TenantLimitSettings, tenant: string | null): number | null {
  if (tenant === null) return null;
  const own = Object.hasOwn(tenants, tenant) ? tenants[tenant]?.max_concurrency : undefined;
  return own === undefined ? (fallback.max_concurrency ?? null) : own;
}

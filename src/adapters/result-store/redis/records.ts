/**
 * How a request lives in Redis: a hash per record and a list of JSON events, both keyed by the
 * request id as hash tag so they share a cluster slot, both expiring at the record's expiresAt.
 *
 *   <prefix>:r:{<id>}   hash: s status, a attempt, q queue, p priority, t submittedAt,
 *                       u updatedAt, d deadlineAt, x expiresAt, l ttlMs, w workerId,
 *                       g progress, e error, o outcome (JSON), n tenant, ra runAt (a delayed
 *                       request's due time), lu the claim's lease end (D130); null
 *                       fields are absent
 *   <prefix>:e:{<id>}   list of {at, f, t, a, w, e, n} — every transition after creation (the
 *                       creation event is derived from the record, as in the SQLite store),
 *                       and notes (n: the note's JSON)
 *   <prefix>:tp:<tenant> sorted set of the tenant's PROCESSING ids, scored by when each stops
 *                       holding its slot (per-tenant concurrency; see scripts.ts)
 *
 * @module
 */
import { isStatus, type Status } from '../../../core/request/lifecycle.js';
import type { Outcome, RequestEvent, RequestRecord } from '../../../core/request/record.js';
import type { TransitionGuard, TransitionWrites } from '../../../core/request/transition.js';
import { decodeNote } from '../../../core/request/trail.js';

/** Prefix of the per-tenant slot sets; the script appends the record's tenant. */
export function tenantSlotsPrefix(prefix: string): string {
  return `${prefix}:tp:`;
}

export function recordKeys(prefix: string, id: string): [record: string, events: string] {
  return [`${prefix}:r:{${id}}`, `${prefix}:e:{${id}}`];
}

/** Fields of a new record, for HSET (absent fields are null). */
export function recordFields(record: RequestRecord): string[] {
  const fields = ['s', record.status, 'a', String(record.attempt), 'q', record.queue, 'p', String(record.priority), 't', String(record.submittedAt), 'u', String(record.updatedAt), 'x', String(record.expiresAt), 'l', String(record.ttlMs)];
  if (record.deadlineAt !== null) fields.push('d', String(record.deadlineAt));
  if (record.workerId !== null) fields.push('w', record.workerId);
  if (record.progress !== null) fields.push('g', String(record.progress));
  if (record.error !== null) fields.push('e', record.error);
  if (record.outcome !== null) fields.push('o', JSON.stringify(record.outcome));
  if (record.tenant !== null) fields.push('n', record.tenant);
  if (record.runAt !== null) fields.push('ra', String(record.runAt));
  return fields;
}

type Hash = Readonly<Record<string, string | undefined>>;

export function fromHash(id: string, hash: Hash, outcome?: Outcome | null): RequestRecord | undefined {
  const status = hash.s;
  if (status === undefined || !isStatus(status)) return undefined;
  return {
    id,
    status,
    attempt: Number(hash.a ?? 0),
    queue: hash.q ?? '',
    priority: Number(hash.p ?? 0),
    submittedAt: Number(hash.t ?? 0),
    updatedAt: Number(hash.u ?? 0),
    deadlineAt: optionalNumber(hash.d),
    expiresAt: Number(hash.x ?? 0),
    ttlMs: Number(hash.l ?? 0),
    workerId: hash.w ?? null,
    progress: optionalNumber(hash.g),
    error: hash.e ?? null,
    outcome: outcome !== undefined ? outcome : hash.o === undefined ? null : (JSON.parse(hash.o) as Outcome),
    tenant: hash.n ?? null,
    runAt: optionalNumber(hash.ra),
  };
}

/** A flat [field, value, …] reply as a hash. */
export function pairs(flat: readonly string[]): Record<string, string> {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i] as string] = flat[i + 1] as string;
  return hash;
}

const CURRENT_FIELDS = ['s', 'a', 'q', 'p', 't', 'u', 'd', 'x', 'l', 'w', 'g', 'e', 'n', 'ra'] as const;

/** The HMGET reply of the transition script (nil → null) as a hash. */
export function currentHash(values: ReadonlyArray<string | null>): Record<string, string> {
  const hash: Record<string, string> = {};
  CURRENT_FIELDS.forEach((field, i) => {
    const value = values[i];
    if (value !== null && value !== undefined) hash[field] = value;
  });
  return hash;
}

/** ARGV of the transition script (see scripts.ts for each position). */
export function transitionArgs(
  id: string,
  guard: TransitionGuard,
  writes: TransitionWrites,
  feed: { channel: string; origin: string },
  tenants: { slotsPrefix: string; limit: number | null },
  claimLeaseMs: number | null = null,
): string[] {
  const optional = (value: string | null | undefined): [string, string] => (value === undefined ? ['keep', ''] : value === null ? ['clear', ''] : ['set', value]);
  return [
    id,
    String(writes.updatedAt),
    writes.status,
    String(writes.attempt),
    guard.fence.holder,
    guard.fence.rule,
    writes.restartTtl ? '1' : '0',
    ...optional(writes.workerId),
    ...optional(writes.error),
    ...(writes.eventError === null ? ['clear', ''] : ['set', writes.eventError]),
    writes.resetProgress ? '1' : '0',
    writes.outcome === null ? '' : JSON.stringify(writes.outcome),
    feed.channel,
    feed.origin,
    tenants.slotsPrefix,
    tenants.limit === null ? '' : String(tenants.limit),
    claimLeaseMs === null ? '' : String(claimLeaseMs),
    String(writes.recordAttempt),
    ...guard.from,
  ];
}

interface StoredEvent {
  readonly at: number;
  readonly f: string;
  readonly t: string;
  readonly a: number;
  readonly w?: string;
  readonly e?: string;
  /** A note's JSON (see core/request/trail.ts); absent on transitions. */
  readonly n?: string;
}

export function eventFromJson(json: string): RequestEvent {
  const e = JSON.parse(json) as StoredEvent;
  const event: RequestEvent = { at: e.at, from: e.f as Status, to: e.t as Status, attempt: e.a, workerId: e.w ?? null, error: e.e ?? null };
  return e.n === undefined ? event : { ...event, note: decodeNote(e.n) };
}

function optionalNumber(value: string | undefined): number | null {
  return value === undefined ? null : Number(value);
}

/**
 * The `Idempotency-Key` header (IETF httpapi draft) on submit and batch submit: a retried
 * submit with the same key and body answers what the first one did instead of queueing the
 * work twice.
 *
 * One atomic claim in the result store decides which of concurrent submits creates the
 * requests (`ResultStore.claimIdempotencyKey`); the claim names the correlation ids before
 * they are written, so a replay knows them even while the first submit is still storing.
 * A submit that fails after its claim releases it, so the client's retry with the same key
 * is a fresh submit rather than a replay of nothing.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HqmError, ValidationError } from '../core/errors.js';
import type { RequestRecord } from '../core/request/record.js';
import { tenantOf } from './auth.js';
import { unavailable } from './accept.js';
import type { RouteContext } from './context.js';

const HEADER = 'idempotency-key';
const MAX_KEY_LENGTH = 255;
/** Visible ASCII: what the draft's sf-string may hold once unquoted. */
const KEY_TEXT = /^[\x20-\x7e]+$/;
/** How long a replay waits for the first submit's records to land before it answers 409. */
const IN_FLIGHT_WAIT_MS = 2000;
const IN_FLIGHT_POLL_MS = 25;
const IN_FLIGHT_RETRY_AFTER_SECONDS = 1;

export interface IdempotentSubmit {
  readonly scope: string;
  readonly key: string;
  readonly fingerprint: string;
}

/**
 * The request's key and body fingerprint, or undefined without the header. `kind` keeps a
 * submit and a batch with one key from reading as the same request.
 */
export function idempotencyOf(request: FastifyRequest, kind: 'submit' | 'batch', body: unknown): IdempotentSubmit | undefined {
  const raw = request.headers[HEADER];
  if (raw === undefined) return undefined;
  const key = parseKey(raw);
  const tenant = tenantOf(request);
  // '' cannot be a tenant's scope: every tenant's is prefixed, so no tenant shares the unauthenticated one.
  return { scope: tenant === null ? '' : `t:${tenant}`, key, fingerprint: fingerprintOf(kind, body) };
}

/** SHA-256 of the canonical JSON (object keys sorted): the same body however its keys were ordered. */
export function fingerprintOf(kind: string, body: unknown): string {
  return createHash('sha256').update(kind).update('\n').update(canonicalJson(body)).digest('hex');
}

export type ClaimOutcome = { readonly replayed: false } | { readonly replayed: true; readonly records: readonly RequestRecord[] };

/** Claims the key for `ids`, or answers the records of the submit that holds it. */
export async function claimOrReplay(ctx: RouteContext, idem: IdempotentSubmit, ids: readonly string[], ttlMs: number, reply: FastifyReply): Promise<ClaimOutcome> {
  const claim = await ctx.store.claimIdempotencyKey({ ...idem, ids, ttlMs }).catch((error: unknown) => {
    throw unavailable(error, 'the result store');
  });
  if (claim.created) return { replayed: false };
  if (claim.fingerprint !== idem.fingerprint) {
    throw new HqmError('HQM_ERR_IDEMPOTENCY_KEY_REUSED', `header Idempotency-Key: "${idem.key}" was used with a different request body; use a new key for a new request`, {
      details: { loc: ['header', HEADER] },
    });
  }
  const records = await recordsOf(ctx, claim.ids);
  if (records === undefined) {
    reply.header('retry-after', String(IN_FLIGHT_RETRY_AFTER_SECONDS));
    throw new HqmError('HQM_ERR_IDEMPOTENCY_IN_FLIGHT', `a submit with Idempotency-Key "${idem.key}" is still being stored; retry shortly`);
  }
  reply.header('idempotent-replayed', 'true');
  return { replayed: true, records };
}

/** Runs the submit; should it fail, frees the key so the client's retry is not a replay of nothing. */
export async function releasingOnFailure<T>(ctx: RouteContext, idem: IdempotentSubmit | undefined, firstId: string, submit: () => Promise<T>): Promise<T> {
  try {
    return await submit();
  } catch (error) {
    // Should the release fail too, the key answers 409 until its TTL: never a second request.
    if (idem !== undefined) await ctx.store.releaseIdempotencyKey(idem.scope, idem.key, firstId).catch(() => undefined);
    throw error;
  }
}

/** The records, once all exist; undefined while the claiming submit is still writing them. */
async function recordsOf(ctx: RouteContext, ids: readonly string[]): Promise<readonly RequestRecord[] | undefined> {
  const deadline = Date.now() + IN_FLIGHT_WAIT_MS;
  for (;;) {
    const records = await Promise.all(ids.map((id) => ctx.store.get(id))).catch((error: unknown) => {
      throw unavailable(error, 'the result store');
    });
    if (records.every((r) => r !== undefined)) return records;
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, IN_FLIGHT_POLL_MS));
  }
}

function parseKey(raw: string | string[]): string {
  const issue = (message: string): ValidationError => new ValidationError([{ path: `header.${HEADER}`, message }]);
  if (Array.isArray(raw)) throw issue('must be given once');
  // The draft's form is a quoted sf-string ("abc"); a bare value is taken as it is.
  const quoted = /^"((?:[^"\\]|\\["\\])*)"$/.exec(raw.trim());
  const key = quoted?.[1] === undefined ? raw.trim() : quoted[1].replace(/\\(["\\])/g, '$1');
  if (key === '') throw issue('must not be empty');
  if (key.length > MAX_KEY_LENGTH) throw issue(`must be at most ${MAX_KEY_LENGTH} characters`);
  if (!KEY_TEXT.test(key)) throw issue('must be visible ASCII text');
  return key;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

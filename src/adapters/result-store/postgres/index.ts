/**
 * `cache.type: postgres` — request records, their trail, idempotency keys, rate windows and
 * analytics in PostgreSQL, shared by every process on the database.
 *
 * A transition or a claim is one statement: core compiles the move (its guard and writes), and
 * the statement locks and reads the record, checks the guard, writes the record, inserts the
 * trail event and notifies listeners (shared/postgres/compiled.ts, D185); the transitions and
 * claims of one event-loop turn share one such statement (D186). One under a tenant limit runs
 * in a transaction holding the tenant's advisory lock, so the count and the claim are one step
 * across processes; a replay reads, plans, and writes only if the row's `version` is unchanged.
 *
 * The change feed is LISTEN/NOTIFY on a dedicated connection; after every (re)connection a
 * catch-up read of the trail re-announces what landed while nobody listened.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { QueryResultRow } from 'pg';
import { z } from 'zod';
import { HqmError } from '../../../core/errors.js';
import type { Status } from '../../../core/request/lifecycle.js';
import type { ListPage, ListQuery } from '../../../core/request/list.js';
import type { NewRequest, RequestEvent, RequestRecord, TrailNote } from '../../../core/request/record.js';
import { planClaim } from '../../../core/request/claim.js';
import { planReplay, type ReplayChange } from '../../../core/request/replay.js';
import { takesTenantSlot } from '../../../core/request/tenant-slots.js';
import { encodeNote } from '../../../core/request/trail.js';
import { compileTransition, initialRecord, planTransition, type TransitionPlan } from '../../../core/request/transition.js';
import type { ResultStoreFactory } from '../../../ports/adapter.js';
import type { HealthReport } from '../../../ports/health.js';
import type { Logger } from '../../../ports/logger.js';
import type {
  ChangeListener,
  ClaimRequest,
  ClaimResult,
  IdempotencyClaim,
  IdempotencyClaimResult,
  RateWindows,
  ResultStore,
  ResultStoreCapabilities,
  TransitionRequest,
  TransitionResult,
} from '../../../ports/result-store.js';
import { ChangeFeed } from '../../shared/change-feed.js';
import { FUSION } from '../../shared/fusion.js';
import { parseOptions } from '../../shared/options.js';
import { readTransition, TRANSITION_BATCH, transitionBatchValues, type CompiledOutcome, type CompiledTransition, type TransitionItem, type TransitionRow } from '../../shared/postgres/compiled.js';
import { PgDatabase } from '../../shared/postgres/database.js';
import type { PgStoreFusion } from '../../shared/postgres/fusion.js';
import { TurnBatch } from '../../shared/postgres/turn-batch.js';
import { isUniqueViolation } from '../../shared/postgres/errors.js';
import { PgListener } from '../../shared/postgres/listener.js';
import { migrate } from '../../shared/postgres/migrate.js';
import { postgresConnectionSchema } from '../../shared/postgres/options.js';
import {
  CHANGES_SINCE,
  CREATE,
  DELETE,
  EVENTS,
  GET,
  GET_FOR_UPDATE,
  GET_WITH_LEASE,
  GET_WITH_LEASE_FOR_UPDATE,
  RENEW_LEASE,
  IDEMPOTENCY_CLAIM,
  IDEMPOTENCY_HELD,
  IDEMPOTENCY_RELEASE,
  LOCK_TENANT,
  NOTE,
  PROGRESS,
  RATE_HIT,
  REMOVE_EXPIRED,
  STORE_SCHEMA,
  SWEEP,
  SWEEP_CLAIMS,
  SWEEP_WINDOWS,
  TENANT_SLOTS,
  TRANSITION,
} from '../../shared/postgres/sql.js';
import { PostgresAnalytics } from './analytics.js';
import { listStatement } from './list.js';
import { createValues, eventFromRow, fromRow, outcomeText, pgText, type EventRow, type RequestRow } from './rows.js';

/** A record read with the lease of the attempt holding it. */
type LeasedRow = RequestRow & { readonly lease_until: number | null };

const optionsSchema = postgresConnectionSchema.extend({
  /** How often expired records are removed; each run removes all that are due (see `sweep`). */
  sweep_interval_ms: z.number().int().min(10).default(5_000),
});
type Options = z.infer<typeof optionsSchema>;

/** Records removed per statement by the sweep: each batch is short, and the sweep runs until one comes back short. */
const SWEEP_BATCH = 1_000;
/** Most changes one catch-up read re-announces. */
const CATCH_UP_BATCH = 10_000;
/** A catch-up reads from this long before the feed was last known good: writers' clocks differ a little. */
const CATCH_UP_SLACK_MS = 2_000;
/** How many announced event numbers are remembered, so a change heard twice (notified and caught up) is told once. */
const SEEN_MAX = 50_000;
/** Most transitions in one statement (those of one turn beyond it go in the next). */
const TRANSITION_BATCH_MAX = 500;
/** Rounds of read, plan, compare-and-set before a transition gives up under constant contention. */
const MAX_ROUNDS = 50;

export const factory: ResultStoreFactory = {
  type: 'postgres',
  async create(raw, context) {
    const options = parseOptions(optionsSchema, raw, 'postgres');
    const logger = context.logger.child({ component: 'store', backend: 'postgres' });
    const db = new PgDatabase(options, logger);
    try {
      await migrate(db, 'store', STORE_SCHEMA);
      return new PostgresResultStore(db, options, logger);
    } catch (error) {
      await db.close();
      throw error;
    }
  },
};

type Query = <R extends QueryResultRow>(text: string, values?: readonly unknown[]) => Promise<R[]>;

export class PostgresResultStore implements ResultStore {
  readonly type = 'postgres';
  readonly capabilities: ResultStoreCapabilities = { durable: true, sharedChangeFeed: true, tenantConcurrency: true };
  readonly analytics: PostgresAnalytics;
  readonly rateWindows: RateWindows;
  readonly #feed: ChangeFeed;
  readonly #channel: string;
  /** Marks this instance's notifications: it has told its own listeners already. */
  readonly #origin = randomBytes(8).toString('hex');
  readonly #seen = new Set<number>();
  readonly #sweeper: NodeJS.Timeout;
  #listener: PgListener | undefined;
  #sweeping: Promise<number> | undefined;
  #closed = false;
  /** What a fused pairing with the PostgreSQL queue on this database and schema needs (D185). */
  readonly [FUSION]: PgStoreFusion;
  /** Transitions and claims of one turn, in one statement (D186). */
  readonly #transitions: TurnBatch<TransitionItem, TransitionRow>;

  constructor(
    private readonly db: PgDatabase,
    options: Options,
    private readonly logger: Logger,
  ) {
    this.#feed = new ChangeFeed(logger);
    this.#channel = `openhqm.store.${options.schema}`;
    this.analytics = new PostgresAnalytics(db, () => this.#assertOpen());
    this.rateWindows = {
      hit: async (key, windowMs) => {
        const [row] = await this.db.query<{ hits: number; reset_in: number }>('counting a rate window', RATE_HIT, [key, Math.max(1, Math.ceil(windowMs))]);
        if (row === undefined) throw new Error('the rate window upsert returned no row');
        return { count: row.hits, resetInMs: Math.max(0, row.reset_in) };
      },
    };
    this.#sweeper = setInterval(() => void this.sweep(), options.sweep_interval_ms);
    this.#sweeper.unref();
    this.#transitions = new TurnBatch(
      (items) => this.db.query<TransitionRow>('applying transitions', TRANSITION_BATCH, transitionBatchValues(items, this.#channel, this.#origin)),
      (item) => [item.transition.id],
      TRANSITION_BATCH_MAX,
    );
    this[FUSION] = {
      technology: 'postgres',
      role: 'store',
      db,
      channel: this.#channel,
      origin: this.#origin,
      assertOpen: () => this.#assertOpen(),
      compiled: (request, now) => this.#compiled(request, now, null),
      settled: (outcome) => this.#settled(outcome),
      created: (record) => this.#feed.emit({ id: record.id, status: record.status }),
    };
  }

  async create(request: NewRequest): Promise<RequestRecord> {
    this.#assertOpen();
    // The creation event is not stored: the record gives it whole (see `events`).
    const { record } = initialRecord(request);
    try {
      await this.db.query('creating a record', CREATE, createValues(record));
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      // An expired record not swept yet holds the id: it and its trail go, the new one takes it.
      const replaced = await this.db.transaction('creating a record', async (query) => {
        const [old] = await query(REMOVE_EXPIRED, [record.id, Date.now()]);
        if (old === undefined) return false;
        await query(CREATE, createValues(record));
        return true;
      });
      if (!replaced) throw new HqmError('HQM_ERR_DUPLICATE_ID', `a request with id ${record.id} already exists`, { details: { id: record.id } });
    }
    this.#feed.emit({ id: record.id, status: record.status });
    return record;
  }

  async get(id: string): Promise<RequestRecord | undefined> {
    // The first read after subscribing waits for LISTEN, so a long-poll misses nothing after it.
    if (this.#listener !== undefined) await this.#listener.ready;
    const [row] = await this.db.query<RequestRow>('reading a record', GET, [id, Date.now()]);
    return row === undefined ? undefined : fromRow(row);
  }

  async transition(request: TransitionRequest): Promise<TransitionResult> {
    // A move that may take a tenant slot under a limit needs the tenant's count: a transaction.
    if ((request.tenantLimit ?? null) !== null) {
      return this.#compareAndSet('applying a transition', request.id, (current, now) => planTransition(current, request, now), request.tenantLimit ?? null, request.to);
    }
    this.#assertOpen();
    const t = this.#compiled(request, Date.now(), null);
    return this.#settled(readTransition(await this.#transitions.run({ transition: t }), t));
  }

  /** The compiled form of a transition (or, with `claimLeaseMs`, a claim) for this store (compiled.ts, D185). */
  #compiled(request: Omit<TransitionRequest, 'tenantLimit'>, now: number, claimLeaseMs: number | null): CompiledTransition {
    const { guard, writes } = compileTransition(request, now);
    return { id: request.id, now, guard, writes, claimLeaseMs };
  }

  /** What a compiled transition did, as `transition` answers it; an applied one is told to this process's listeners. */
  #settled(outcome: CompiledOutcome): TransitionResult {
    if (outcome.kind === 'not_found') return { ok: false, reason: 'not_found' };
    if (outcome.kind === 'refused') return { ok: false, reason: 'conflict', current: outcome.current };
    return this.#applied(outcome.seq, outcome.record);
  }

  async replay(request: ReplayChange): Promise<TransitionResult> {
    return this.#compareAndSet('replaying a record', request.id, (current, now) => planReplay(current, request, now), null, 'PENDING');
  }

  /**
   * A claim (ports v2, D130): PROCESSING under the next attempt with a lease, unless the record
   * is finished or another attempt's lease is live. The lease is read with the record and
   * written by the same compare-and-set, so two claimers cannot both see it lapsed and win.
   */
  async claim(request: ClaimRequest): Promise<ClaimResult> {
    this.#assertOpen();
    if ((request.tenantLimit ?? null) === null) return this.#compiledClaim(request);
    const what = 'claiming a request';
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const now = Date.now();
      const [row] = await this.db.query<LeasedRow>(what, GET_WITH_LEASE, [request.id, now]);
      if (row === undefined) return { ok: false, reason: 'not_found' };
      const current = fromRow(row);
      const plan = planClaim(current, row.lease_until, request, now);
      if (plan.kind === 'finished') return { ok: false, reason: 'conflict', current };
      if (plan.kind === 'held') return { ok: false, reason: 'held', current, leaseUntil: plan.leaseUntil };
      const limit = request.tenantLimit ?? null;
      if (limit !== null && current.tenant !== null && takesTenantSlot(current, 'PROCESSING')) return this.#leasedClaimWithinLimit(what, current.tenant, request, limit);
      const planned = planTransition(current, plan.change, now);
      if (!planned.ok) return { ok: false, reason: 'conflict', current };
      const [applied] = await this.db.query<{ seq: number }>(what, TRANSITION, this.#transitionValues(row.version, now, planned, plan.leaseUntil));
      if (applied !== undefined) return { ...this.#applied(applied.seq, planned.record), leaseUntil: plan.leaseUntil };
    }
    throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', `${what}: record ${request.id} kept changing under ${MAX_ROUNDS} attempts to write it`);
  }

  /** A claim without a tenant limit in one statement: the lease checked and the attempt counted in SQL. */
  async #compiledClaim(request: ClaimRequest): Promise<ClaimResult> {
    const now = Date.now();
    const t = this.#compiled({ id: request.id, from: ['PENDING', 'PROCESSING'], to: 'PROCESSING', attempt: 0, workerId: request.workerId, error: null }, now, request.leaseMs);
    const outcome = readTransition(await this.#transitions.run({ transition: t }), t);
    if (outcome.kind === 'applied') return { ...this.#applied(outcome.seq, outcome.record), leaseUntil: now + request.leaseMs };
    if (outcome.kind === 'not_found') return { ok: false, reason: 'not_found' };
    const { current } = outcome;
    const plan = planClaim(current, outcome.leaseUntil, request, now);
    if (plan.kind === 'held') return { ok: false, reason: 'held', current, leaseUntil: plan.leaseUntil };
    return { ok: false, reason: 'conflict', current };
  }

  async renewLease(id: string, attempt: number, leaseMs: number): Promise<boolean> {
    this.#assertOpen();
    const now = Date.now();
    const rows = await this.db.query('renewing a lease', RENEW_LEASE, [id, attempt, now + leaseMs, now]);
    return rows.length > 0;
  }

  /**
   * Read, plan, write-if-unchanged, until the write lands or the plan says no. A claim that
   * takes a tenant slot under a limit goes through `#claimWithinLimit` instead.
   */
  async #compareAndSet(what: string, id: string, plan: (current: RequestRecord, now: number) => TransitionPlan, tenantLimit: number | null, to: Status): Promise<TransitionResult> {
    this.#assertOpen();
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const now = Date.now();
      const [row] = await this.db.query<RequestRow>(what, GET, [id, now]);
      if (row === undefined) return { ok: false, reason: 'not_found' };
      const current = fromRow(row);
      if (tenantLimit !== null && takesTenantSlot(current, to)) return this.#claimWithinLimit(what, current.tenant, id, plan, tenantLimit);
      const planned = plan(current, now);
      if (!planned.ok) return { ok: false, reason: 'conflict', current };
      const [applied] = await this.db.query<{ seq: number }>(what, TRANSITION, this.#transitionValues(row.version, now, planned));
      if (applied !== undefined) return this.#applied(applied.seq, planned.record);
    }
    throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', `${what}: record ${id} kept changing under ${MAX_ROUNDS} attempts to write it`);
  }

  /** The claim and the tenant's count in one transaction, holding the tenant's advisory lock. */
  async #claimWithinLimit(what: string, tenant: string, id: string, plan: (current: RequestRecord, now: number) => TransitionPlan, limit: number): Promise<TransitionResult> {
    const result = await this.db.transaction(what, async (query: Query): Promise<TransitionResult | { seq: number; record: RequestRecord }> => {
      await query(LOCK_TENANT, [tenant]);
      const now = Date.now();
      const [row] = await query<RequestRow>(GET_FOR_UPDATE, [id, now]);
      if (row === undefined) return { ok: false, reason: 'not_found' };
      const current = fromRow(row);
      const planned = plan(current, now);
      if (!planned.ok) return { ok: false, reason: 'conflict', current };
      if (takesTenantSlot(current, planned.record.status) && (await this.#slotsTaken(query, tenant, now)) >= limit) return { ok: false, reason: 'tenant_busy', current };
      const [applied] = await query<{ seq: number }>(TRANSITION, this.#transitionValues(row.version, now, planned));
      if (applied === undefined) throw new Error('a locked record changed under its transaction');
      return { seq: applied.seq, record: planned.record };
    });
    return 'seq' in result ? this.#applied(result.seq, result.record) : result;
  }

  /** A store-side claim under a tenant limit: as #claimWithinLimit, the lease checked and written under the row lock. */
  async #leasedClaimWithinLimit(what: string, tenant: string, request: ClaimRequest, limit: number): Promise<ClaimResult> {
    const result = await this.db.transaction(what, async (query: Query): Promise<ClaimResult | { seq: number; record: RequestRecord; leaseUntil: number }> => {
      await query(LOCK_TENANT, [tenant]);
      const now = Date.now();
      const [row] = await query<LeasedRow>(GET_WITH_LEASE_FOR_UPDATE, [request.id, now]);
      if (row === undefined) return { ok: false, reason: 'not_found' };
      const current = fromRow(row);
      const claim = planClaim(current, row.lease_until, request, now);
      if (claim.kind === 'finished') return { ok: false, reason: 'conflict', current };
      if (claim.kind === 'held') return { ok: false, reason: 'held', current, leaseUntil: claim.leaseUntil };
      const planned = planTransition(current, claim.change, now);
      if (!planned.ok) return { ok: false, reason: 'conflict', current };
      if (takesTenantSlot(current, 'PROCESSING') && (await this.#slotsTaken(query, tenant, now)) >= limit) return { ok: false, reason: 'tenant_busy', current };
      const [applied] = await query<{ seq: number }>(TRANSITION, this.#transitionValues(row.version, now, planned, claim.leaseUntil));
      if (applied === undefined) throw new Error('a locked record changed under its transaction');
      return { seq: applied.seq, record: planned.record, leaseUntil: claim.leaseUntil };
    });
    return 'seq' in result ? { ...this.#applied(result.seq, result.record), leaseUntil: result.leaseUntil } : result;
  }

  async #slotsTaken(query: Query, tenant: string, now: number): Promise<number> {
    const [slots] = await query<{ n: number }>(TENANT_SLOTS, [tenant, now]);
    return slots?.n ?? 0;
  }

  #transitionValues(version: number, now: number, planned: Extract<TransitionPlan, { ok: true }>, leaseUntil: number | null = null): unknown[] {
    const { record, event } = planned;
    return [
      record.id,
      version,
      now,
      record.status,
      record.attempt,
      record.updatedAt,
      record.expiresAt,
      record.deadlineAt,
      pgText(record.workerId),
      record.progress,
      pgText(record.error),
      outcomeText(record.outcome),
      event.at,
      event.from,
      event.to,
      event.attempt,
      pgText(event.workerId),
      pgText(event.error),
      this.#channel,
      this.#origin,
      leaseUntil,
    ];
  }

  #applied(seq: number, record: RequestRecord): { readonly ok: true; readonly record: RequestRecord } {
    this.#remember(seq);
    this.#feed.emit({ id: record.id, status: record.status });
    return { ok: true, record };
  }

  async setProgress(id: string, attempt: number, progress: number): Promise<boolean> {
    this.#assertOpen();
    const rows = await this.db.query('recording progress', PROGRESS, [id, attempt, progress, Date.now(), this.#channel, this.#origin]);
    if (rows.length === 0) return false;
    this.#feed.emit({ id, status: 'PROCESSING', progress });
    return true;
  }

  async events(id: string): Promise<readonly RequestEvent[]> {
    const rows = await this.db.query<{ submitted_at: number } & { [K in keyof EventRow]: EventRow[K] | null }>('reading a trail', EVENTS, [id, Date.now()]);
    const first = rows[0];
    if (first === undefined) return [];
    const created: RequestEvent = { at: first.submitted_at, from: null, to: 'PENDING', attempt: 0, workerId: null, error: null };
    // A record without stored events comes back as one row of nulls (the LEFT JOIN).
    return [created, ...rows.filter((row): row is typeof row & EventRow => row.to_status !== null).map(eventFromRow)];
  }

  async appendNote(id: string, note: TrailNote): Promise<boolean> {
    this.#assertOpen();
    const rows = await this.db.query('appending a note', NOTE, [id, Date.now(), encodeNote(note)]);
    return rows.length > 0;
  }

  async delete(id: string): Promise<void> {
    await this.db.query('deleting a record', DELETE, [id]);
  }

  async list(query: ListQuery): Promise<ListPage<RequestRecord>> {
    const { text, values } = listStatement(query, Date.now());
    const rows = await this.db.query<RequestRow>('listing records', text, values);
    const records = rows.slice(0, query.limit).map(fromRow);
    const last = records.at(-1);
    return { records, next: rows.length > query.limit && last !== undefined ? { submittedAt: last.submittedAt, id: last.id } : null };
  }

  async claimIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyClaimResult> {
    this.#assertOpen();
    const firstId = claim.ids[0] ?? '';
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const now = Date.now();
      const created = await this.db.query('claiming an idempotency key', IDEMPOTENCY_CLAIM, [claim.scope, claim.key, claim.fingerprint, JSON.stringify(claim.ids), firstId, now + claim.ttlMs, now]);
      if (created.length > 0) return { created: true };
      const [held] = await this.db.query<{ fingerprint: string; ids: string }>('reading an idempotency key', IDEMPOTENCY_HELD, [claim.scope, claim.key, now]);
      // Gone in between (released, or its TTL passed): claim again.
      if (held !== undefined) return { created: false, ids: JSON.parse(held.ids) as string[], fingerprint: held.fingerprint };
    }
    throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'claiming an idempotency key: it kept changing hands');
  }

  async releaseIdempotencyKey(scope: string, key: string, firstId: string): Promise<void> {
    await this.db.query('releasing an idempotency key', IDEMPOTENCY_RELEASE, [scope, key, firstId]);
  }

  onChange(listener: ChangeListener): () => void {
    const unsubscribe = this.#feed.subscribe(listener);
    // Kept once started (until close): long-polls come and go, and each would otherwise reconnect.
    if (this.#listener === undefined && !this.#closed) {
      this.#listener = new PgListener(this.db.options, this.#channel, { onNotification: this.#onNotification, onListening: this.#catchUp }, this.logger);
    }
    return unsubscribe;
  }

  async health(): Promise<HealthReport> {
    return this.#closed ? { ok: false, detail: 'closed' } : this.db.health();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#feed.clear();
    await this.#listener?.stop();
    await this.#sweeping;
    await this.db.close();
  }

  /** `{i: id, s: status, q?: event seq, p?: progress, o: origin}` from a transition or progress report anywhere. */
  readonly #onNotification = (payload: string): void => {
    let change: { i: string; s: Status; q?: number; p?: number; o: string };
    try {
      change = JSON.parse(payload) as typeof change;
    } catch {
      return;
    }
    if (change.o === this.#origin) return;
    if (change.q !== undefined && !this.#remember(change.q)) return;
    this.#feed.emit(change.p === undefined ? { id: change.i, status: change.s } : { id: change.i, status: change.s, progress: change.p });
  };

  /** Re-announces the transitions since the feed was last known good (those already told are skipped). */
  readonly #catchUp = async (since: number): Promise<void> => {
    const rows = await this.db.query<{ seq: number; request_id: string; to_status: string }>('catching up the change feed', CHANGES_SINCE, [since - CATCH_UP_SLACK_MS, CATCH_UP_BATCH]);
    for (const row of rows) if (this.#remember(row.seq)) this.#feed.emit({ id: row.request_id, status: row.to_status as Status });
  };

  /** Notes an event number as told; false when it already was. */
  #remember(seq: number): boolean {
    if (this.#seen.has(seq)) return false;
    this.#seen.add(seq);
    if (this.#seen.size > SEEN_MAX) {
      for (const old of this.#seen) {
        this.#seen.delete(old);
        if (this.#seen.size <= SEEN_MAX / 2) break;
      }
    }
    return true;
  }

  /**
   * Removes every record (and its trail) whose TTL has passed, SWEEP_BATCH per statement, until
   * a batch comes back short; then expired idempotency claims and rate windows. The timer runs it
   * every `sweep_interval_ms`; a call while one runs joins it. Resolves with how many records went.
   */
  sweep(): Promise<number> {
    this.#sweeping ??= this.#sweepAll().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async #sweepAll(): Promise<number> {
    let removed = 0;
    try {
      while (!this.#closed) {
        const [row] = await this.db.query<{ n: number }>('sweeping expired records', SWEEP, [Date.now(), SWEEP_BATCH]);
        const batch = row?.n ?? 0;
        removed += batch;
        if (batch < SWEEP_BATCH) break;
      }
      if (!this.#closed) {
        await this.db.query('sweeping idempotency keys', SWEEP_CLAIMS, [Date.now()]);
        await this.db.query('sweeping rate windows', SWEEP_WINDOWS);
      }
      if (removed > 0) this.logger.debug({ removed }, 'postgres store: expired records removed');
    } catch (error) {
      this.logger.warn({ err: error, removed }, 'postgres store: sweeping expired records failed; the next sweep goes on');
    }
    return removed;
  }

  #assertOpen(): void {
    if (this.#closed) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the PostgreSQL result store is closed', { retryable: false });
  }
}

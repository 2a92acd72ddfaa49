/**
 * `cache.type: sqlite` — the embedded default result store. Transitions are compare-and-set
 * inside one transaction (the record, its outcome and the audit event together); writes of one
 * event-loop turn share one commit with the SQLite queue when both use the same file. The change
 * feed is immediate within a process and follows other processes' commits by polling
 * PRAGMA data_version while anyone listens.
 *
 * @module
 */
import type { Database, Statement } from 'better-sqlite3';
import { z } from 'zod';
import { HqmError } from '../../../core/errors.js';
import type { Status } from '../../../core/request/lifecycle.js';
import type { NewRequest, RequestEvent, RequestRecord, TrailNote } from '../../../core/request/record.js';
import { noteEvent } from '../../../core/request/trail.js';
import type { ListPage, ListQuery } from '../../../core/request/list.js';
import { takesTenantSlot } from '../../../core/request/tenant-slots.js';
import { planReplay, type ReplayChange } from '../../../core/request/replay.js';
import { initialRecord, planTransition } from '../../../core/request/transition.js';
import { planClaim } from '../../../core/request/claim.js';
import type { ResultStoreFactory } from '../../../ports/adapter.js';
import type { HealthReport } from '../../../ports/health.js';
import type { Logger } from '../../../ports/logger.js';
import type {
  ChangeListener,
  ClaimRequest,
  ClaimResult,
  IdempotencyClaim,
  IdempotencyClaimResult,
  RecordChange,
  ResultStore,
  ResultStoreCapabilities,
  TransitionRequest,
  TransitionResult,
} from '../../../ports/result-store.js';
import { ChangeFeed } from '../../shared/change-feed.js';
import { FUSION } from '../../shared/fusion.js';
import { parseOptions } from '../../shared/options.js';
import { acquireSqlite, type SqliteHandle } from '../../shared/sqlite/database.js';
import { isConstraintViolation } from '../../shared/sqlite/errors.js';
import type { SqliteStoreFusion } from '../../shared/sqlite/fusion.js';
import { probeSqlite } from '../../shared/sqlite/probe.js';
import { sqliteOptionsSchema } from '../../shared/sqlite/options.js';
import { SqliteAnalytics } from './analytics.js';
import { eventFromRow, eventToRow, fromRow, toRow, type RequestRow } from './rows.js';
import { migrateStore } from './schema.js';
import { idempotencyStatements, listStatement, storeStatements, type ListParams, type StoreStatements } from './statements.js';

const optionsSchema = sqliteOptionsSchema.extend({
  /** How often the change feed looks for commits of other processes while anyone listens. */
  change_feed_poll_ms: z.number().int().min(1).max(60_000).default(25),
  /** How often expired records are removed; each run removes all that are due (see `sweep`). */
  sweep_interval_ms: z.number().int().min(10).default(5_000),
});
type Options = z.infer<typeof optionsSchema>;

/**
 * Records removed per transaction by the sweep. About 5 µs each with their events, so a batch
 * holds the event loop (and SQLite's write lock) for a few milliseconds; the sweep yields
 * between batches and runs until none are due, so it keeps pace with any submit rate.
 */
const SWEEP_BATCH = 500;
const FEED_BATCH = 10_000;
/** Expired idempotency claims each new claim clears: the table stays small without a sweeper of its own. */
const CLAIM_SWEEP = 16;
/** For the group commit: ops that write several rows roll back together. */
const ATOMIC = { atomic: true } as const;

export const factory: ResultStoreFactory = {
  type: 'sqlite',
  async create(raw, context) {
    const options = parseOptions(optionsSchema, raw, 'sqlite');
    const handle = await acquireSqlite({ path: options.path, synchronous: options.synchronous, busyTimeoutMs: options.busy_timeout_ms });
    try {
      migrateStore(handle.db);
      return new SqliteResultStore(handle, storeStatements(handle.db), options, context.logger.child({ component: 'store', backend: 'sqlite' }));
    } catch (error) {
      handle.release();
      throw error;
    }
  },
};

export class SqliteResultStore implements ResultStore {
  readonly type = 'sqlite';
  readonly capabilities: ResultStoreCapabilities;
  readonly #feed: ChangeFeed;
  readonly #sweeper: NodeJS.Timeout;
  #unwatch: (() => void) | undefined;
  #lastSeq = 0;
  #closed = false;
  /** The sweep in progress, so timer ticks never run two at once. */
  #sweeping: Promise<number> | undefined;
  readonly #replaceExpired: (id: string, row: ReturnType<typeof toRow>) => void;
  readonly analytics: SqliteAnalytics;
  /** What a fused pairing with the SQLite queue on this file needs (D182). */
  readonly [FUSION]: SqliteStoreFusion;

  constructor(
    private readonly handle: SqliteHandle,
    private readonly stmts: StoreStatements,
    private readonly options: Options,
    private readonly logger: Logger,
  ) {
    this.#feed = new ChangeFeed(logger);
    const onDisk = handle.path !== ':memory:';
    this.capabilities = { durable: onDisk, sharedChangeFeed: onDisk, tenantConcurrency: true };
    handle.local.on('record', this.#onLocalChange);
    handle.local.on('fault', this.#onFault);
    // Called inside the group commit's transaction, better-sqlite3 runs it as a savepoint.
    this.#replaceExpired = handle.db.transaction((id: string, row: ReturnType<typeof toRow>) => {
      this.#remove(id);
      this.stmts.insert.run(row);
    });
    this.#sweeper = setInterval(() => void this.sweep(), options.sweep_interval_ms);
    this.#sweeper.unref();
    this.analytics = new SqliteAnalytics(handle, () => this.#assertOpen());
    this[FUSION] = {
      technology: 'sqlite',
      role: 'store',
      handle,
      assertOpen: () => this.#assertOpen(),
      creation: (request) => this.#creation(request),
      remove: (id) => this.#remove(id),
      transition: (request) => this.#applyTransition(request),
      announce: (change) => this.#announce(change),
    };
  }

  async create(request: NewRequest): Promise<RequestRecord> {
    this.#assertOpen();
    const { record, run } = this.#creation(request);
    // Not atomic as a whole (a savepoint per submit costs); the rare path that writes more than
    // one row runs in its own savepoint.
    await this.handle.commit.run(run);
    this.#announce({ id: record.id, status: record.status });
    return record;
  }

  /** The record of `request`, and its insert to run inside a group commit. */
  #creation(request: NewRequest): { record: RequestRecord; run: () => void } {
    // The creation event is not stored: it is fully given by the record (see `events`), and
    // one insert instead of two is a sixth of the cost of a submit.
    const { record } = initialRecord(request);
    const row = toRow(record);
    const run = (): void => {
      try {
        this.stmts.insert.run(row);
      } catch (error) {
        if (!isConstraintViolation(error)) throw error;
        if (this.stmts.live.get({ id: record.id, now: Date.now() }) !== undefined) {
          throw new HqmError('HQM_ERR_DUPLICATE_ID', `a request with id ${record.id} already exists`, { details: { id: record.id } });
        }
        this.#replaceExpired(record.id, row); // An expired record not swept yet: its id is free again.
      }
    };
    return { record, run };
  }

  async get(id: string): Promise<RequestRecord | undefined> {
    const row = this.handle.read(() => this.stmts.live.get({ id, now: Date.now() }));
    return row === undefined ? undefined : fromRow(row);
  }

  async transition(request: TransitionRequest): Promise<TransitionResult> {
    this.#assertOpen();
    const result = await this.handle.commit.run(() => this.#applyTransition(request), ATOMIC);
    if (result.ok) this.#announce({ id: request.id, status: result.record.status });
    return result;
  }

  /**
   * Runs inside the group commit, so read-check-write is atomic (the commit holds SQLite's write
   * lock): the tenant's count and the claim cannot be split by another process's claim.
   */
  #applyTransition(request: TransitionRequest): TransitionResult {
    const now = Date.now();
    const row = this.stmts.live.get({ id: request.id, now });
    if (row === undefined) return { ok: false, reason: 'not_found' };
    return this.#applyTo(fromRow(row), request, now);
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    this.#assertOpen();
    const result = await this.handle.commit.run(() => this.#applyClaim(request), ATOMIC);
    if (result.ok) this.#announce({ id: request.id, status: result.record.status });
    return result;
  }

  /** Like #applyTransition: inside the group commit, so the lease check and the claim are one step. */
  #applyClaim(request: ClaimRequest): ClaimResult {
    const now = Date.now();
    const row = this.stmts.live.get({ id: request.id, now });
    if (row === undefined) return { ok: false, reason: 'not_found' };
    const current = fromRow(row);
    const plan = planClaim(current, this.stmts.leaseOf.get({ id: request.id })?.lease_until ?? null, request, now);
    if (plan.kind === 'finished') return { ok: false, reason: 'conflict', current };
    if (plan.kind === 'held') return { ok: false, reason: 'held', current, leaseUntil: plan.leaseUntil };
    const applied = this.#applyTo(current, { id: request.id, ...plan.change, tenantLimit: request.tenantLimit ?? null }, now);
    if (!applied.ok) return applied;
    this.stmts.setLease.run({ id: request.id, until: plan.leaseUntil });
    return { ok: true, record: applied.record, leaseUntil: plan.leaseUntil };
  }

  async renewLease(id: string, attempt: number, leaseMs: number): Promise<boolean> {
    this.#assertOpen();
    const now = Date.now();
    return (await this.handle.commit.run(() => this.stmts.renewLease.run({ id, attempt, until: now + leaseMs, now }).changes)) > 0;
  }

  #applyTo(current: RequestRecord, request: TransitionRequest, now: number): TransitionResult {
    const plan = planTransition(current, request, now);
    if (!plan.ok) return { ok: false, reason: 'conflict', current };
    const limit = request.tenantLimit ?? null;
    if (limit !== null && takesTenantSlot(current, request.to) && (this.stmts.tenantSlots.get({ tenant: current.tenant, now })?.n ?? 0) >= limit) {
      return { ok: false, reason: 'tenant_busy', current };
    }
    const updated = toRow(plan.record);
    const event = eventToRow(request.id, plan.event);
    this.stmts.update.run(updated);
    this.stmts.insertEvent.run(event);
    return { ok: true, record: plan.record };
  }

  async replay(request: ReplayChange): Promise<TransitionResult> {
    this.#assertOpen();
    const update = replayStatement(this.handle.db);
    const result = await this.handle.commit.run((): TransitionResult => {
      const now = Date.now();
      const row = this.stmts.live.get({ id: request.id, now });
      if (row === undefined) return { ok: false, reason: 'not_found' };
      const current = fromRow(row);
      const plan = planReplay(current, request, now);
      if (!plan.ok) return { ok: false, reason: 'conflict', current };
      update.run(toRow(plan.record));
      this.stmts.insertEvent.run(eventToRow(request.id, plan.event));
      return { ok: true, record: plan.record };
    }, ATOMIC);
    if (result.ok) this.#announce({ id: request.id, status: result.record.status });
    return result;
  }

  async setProgress(id: string, attempt: number, progress: number): Promise<boolean> {
    const changed = await this.handle.commit.run(() => this.stmts.progress.run({ id, attempt, progress, now: Date.now() }).changes);
    // To this process's listeners; other processes follow the trail table, which progress is not in.
    if (changed > 0) this.#announce({ id, status: 'PROCESSING', progress });
    return changed > 0;
  }

  async events(id: string): Promise<readonly RequestEvent[]> {
    const row = this.handle.read(() => this.stmts.live.get({ id, now: Date.now() }));
    if (row === undefined) return [];
    const created: RequestEvent = { at: row.submitted_at, from: null, to: 'PENDING', attempt: 0, workerId: null, error: null };
    return [created, ...this.handle.read(() => this.stmts.events.all({ id })).map(eventFromRow)];
  }

  async appendNote(id: string, note: TrailNote): Promise<boolean> {
    this.#assertOpen();
    return this.handle.commit.run(() => {
      const now = Date.now();
      const row = this.stmts.live.get({ id, now });
      if (row === undefined) return false;
      this.stmts.insertEvent.run(eventToRow(id, noteEvent(fromRow(row), note, now)));
      return true;
    }, ATOMIC);
  }

  async delete(id: string): Promise<void> {
    await this.handle.commit.run(() => this.#remove(id), ATOMIC);
  }

  async list(query: ListQuery): Promise<ListPage<RequestRecord>> {
    const { tenant, queue, status, since, until, before } = query;
    const shape = { tenant: tenant !== undefined, queue: queue !== undefined, status: status !== undefined, since: since !== undefined, until: until !== undefined, before: before !== undefined };
    // One row more than the page tells whether another page follows.
    const params: ListParams = { now: Date.now(), limit: query.limit + 1 };
    if (tenant !== undefined) params.tenant = tenant;
    if (queue !== undefined) params.queue = queue;
    if (status !== undefined) params.status = status;
    if (since !== undefined) params.since = since;
    if (until !== undefined) params.until = until;
    if (before !== undefined) {
      params.before_at = before.submittedAt;
      params.before_id = before.id;
    }
    const rows = this.handle.read(() => listStatement(this.handle.db, shape).all(params));
    const records = rows.slice(0, query.limit).map(fromRow);
    const last = records[records.length - 1];
    return { records, next: rows.length > query.limit && last !== undefined ? { submittedAt: last.submittedAt, id: last.id } : null };
  }

  async claimIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyClaimResult> {
    this.#assertOpen();
    const stmts = idempotencyStatements(this.handle.db);
    // Read-then-write is atomic here: the group commit holds SQLite's write lock around it.
    return this.handle.commit.run((): IdempotencyClaimResult => {
      const now = Date.now();
      const held = stmts.claimed.get({ scope: claim.scope, key: claim.key, now });
      if (held !== undefined) return { created: false, ids: JSON.parse(held.ids) as string[], fingerprint: held.fingerprint };
      stmts.dropExpired.run({ now, limit: CLAIM_SWEEP });
      stmts.claim.run({ scope: claim.scope, key: claim.key, fingerprint: claim.fingerprint, ids: JSON.stringify(claim.ids), expires_at: now + claim.ttlMs });
      return { created: true };
    }, ATOMIC);
  }

  async releaseIdempotencyKey(scope: string, key: string, firstId: string): Promise<void> {
    const stmts = idempotencyStatements(this.handle.db);
    await this.handle.commit.run(() => stmts.release.run({ scope, key, first: firstId }));
  }

  onChange(listener: ChangeListener): () => void {
    const unsubscribe = this.#feed.subscribe(listener);
    if (this.#unwatch === undefined && this.capabilities.sharedChangeFeed) {
      this.#lastSeq = this.stmts.maxSeq.get()?.seq ?? 0;
      this.#unwatch = this.handle.watchExternalCommits(this.#followExternal, this.options.change_feed_poll_ms);
    }
    return () => {
      unsubscribe();
      if (this.#feed.size === 0) this.#stopFollowing();
    };
  }

  async health(): Promise<HealthReport> {
    if (this.#closed) return { ok: false, detail: 'closed' };
    return probeSqlite(this.handle, () => this.stmts.probe.get());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#stopFollowing();
    this.#feed.clear();
    this.handle.local.off('record', this.#onLocalChange);
    this.handle.local.off('fault', this.#onFault);
    this.handle.release();
  }

  /** Tells every store of this process on this file (and so every local listener). */
  #announce(change: RecordChange): void {
    this.handle.local.emit('record', change);
  }

  readonly #onLocalChange = (change: RecordChange): void => {
    this.#feed.emit(change);
  };

  readonly #onFault = (fault: string): void => {
    this.logger.error({ fault }, 'sqlite: the database file is unusable; not ready and refusing writes until restarted on a good file');
  };

  readonly #followExternal = (): void => {
    try {
      for (;;) {
        const rows = this.stmts.since.all({ seq: this.#lastSeq, limit: FEED_BATCH });
        for (const row of rows) {
          this.#lastSeq = row.seq;
          if (row.is_note === 0) this.#feed.emit({ id: row.request_id, status: row.to_status as Status });
        }
        if (rows.length < FEED_BATCH) return;
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'sqlite store: reading the change feed failed; will try again');
    }
  };

  #stopFollowing(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  #remove(id: string): void {
    this.stmts.remove.run({ id });
    this.stmts.removeEvents.run({ id });
  }

  /**
   * Removes every record (and its events) whose TTL has passed, in batches of SWEEP_BATCH that
   * each commit on their own, until a batch comes back short. The timer runs it every
   * `sweep_interval_ms`; a call while one runs joins it. Resolves with how many were removed.
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
        // Each batch is its own group commit, so submits and transitions queued meanwhile
        // interleave with the sweep instead of waiting for all of it.
        const batch = await this.handle.commit.run(() => {
          const ids = this.stmts.expired.all({ now: Date.now(), limit: SWEEP_BATCH });
          for (const { id } of ids) this.#remove(id);
          return ids.length;
        }, ATOMIC);
        removed += batch;
        if (batch < SWEEP_BATCH) break;
      }
      if (removed > 0) this.logger.debug({ removed }, 'sqlite store: expired records removed');
    } catch (error) {
      this.logger.warn({ err: error, removed }, 'sqlite store: sweeping expired records failed; the next sweep goes on');
    }
    return removed;
  }

  #assertOpen(): void {
    if (this.#closed) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the SQLite result store is closed', { retryable: false });
  }
}

const replayStatements = new WeakMap<Database, Statement<RequestRow>>();

/** The update of a replay: as a transition's, plus the new deadline (transitions never move it). */
function replayStatement(db: Database): Statement<RequestRow> {
  let statement = replayStatements.get(db);
  if (statement === undefined) {
    statement = db.prepare(
      `UPDATE hqm_requests SET status = :status, attempt = :attempt, updated_at = :updated_at, expires_at = :expires_at, deadline_at = :deadline_at,
              worker_id = :worker_id, progress = :progress, error = :error, outcome = :outcome
       WHERE id = :id`,
    );
    replayStatements.set(db, statement);
  }
  return statement;
}

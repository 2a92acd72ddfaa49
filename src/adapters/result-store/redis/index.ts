/**
 * `cache.type: redis` — request records, outcomes and audit trails in Redis, with a TTL, an
 * atomic compare-and-set per transition (scripts.ts), and a change feed over pub/sub so a
 * long-poll on one API process is woken by a worker anywhere (change-feed.ts).
 *
 * Capabilities: `sharedChangeFeed` always; `durable` only when every master has the
 * append-only file on (INFO persistence).
 *
 * @module
 */
import { HqmError } from '../../../core/errors.js';
import type { NewRequest, RequestEvent, RequestRecord, TrailNote } from '../../../core/request/record.js';
import { encodeNote } from '../../../core/request/trail.js';
import type { ListPage, ListQuery } from '../../../core/request/list.js';
import type { ReplayChange } from '../../../core/request/replay.js';
import { applyWrites, compileTransition, initialRecord } from '../../../core/request/transition.js';
import type { AdapterContext, ResultStoreFactory } from '../../../ports/adapter.js';
import type { HealthReport } from '../../../ports/health.js';
import type { Logger } from '../../../ports/logger.js';
import type {
  ChangeListener,
  ClaimRequest,
  ClaimResult,
  IdempotencyClaim,
  IdempotencyClaimResult,
  ResultStore,
  ResultStoreCapabilities,
  TransitionRequest,
  TransitionResult,
} from '../../../ports/result-store.js';
import { FUSION } from '../../shared/fusion.js';
import { parseOptions } from '../../shared/options.js';
import { acquireRedis, type RedisHandle } from '../../shared/redis/client.js';
import { guarded } from '../../shared/redis/errors.js';
import type { RedisCall, RedisStoreFusion } from '../../shared/redis/fusion.js';
import { redisConnectionSchema, type RedisConnectionOptions } from '../../shared/redis/options.js';
import { RedisAnalytics } from './analytics.js';
import { RedisChangeFeed } from './change-feed.js';
import { RedisIdempotency } from './idempotency.js';
import { RedisRateWindows } from './rate-windows.js';
import { INDEX_LUA, RedisListIndex } from './list-index.js';
import { currentHash, eventFromJson, fromHash, pairs, recordFields, recordKeys, tenantSlotsPrefix, transitionArgs } from './records.js';
import { RedisReplay } from './replay.js';
import { STORE_LUA, storeScripts, type StoreScripts } from './scripts.js';

export const factory: ResultStoreFactory = {
  type: 'redis',
  async create(raw, context: AdapterContext) {
    const options = parseOptions(redisConnectionSchema, raw, 'redis');
    const logger = context.logger.child({ component: 'store', backend: 'redis' });
    const handle = await acquireRedis(options, logger);
    return new RedisResultStore(handle, options, handle.server.durable, logger);
  },
};

/** How often each process prunes the list index of expired records (list-index.ts). */
const PRUNE_INTERVAL_MS = 5_000;

export class RedisResultStore implements ResultStore {
  readonly type = 'redis';
  readonly capabilities: ResultStoreCapabilities;
  readonly rateWindows: RedisRateWindows;
  readonly #scripts: StoreScripts;
  readonly #feed: RedisChangeFeed;
  readonly #replay: RedisReplay;
  readonly #idempotency: RedisIdempotency;
  readonly #lists: RedisListIndex;
  readonly #pruner: NodeJS.Timeout;
  #pruning: Promise<number> | undefined;
  readonly analytics: RedisAnalytics;
  #closed = false;
  /** What a fused pairing with the Redis queue on this connection needs (D187). */
  readonly [FUSION]: RedisStoreFusion;

  constructor(
    private readonly handle: RedisHandle,
    private readonly options: RedisConnectionOptions,
    durable: boolean,
    logger: Logger,
  ) {
    // The slot count is keyed by tenant, not by the request's hash tag: atomic only on one node.
    this.capabilities = { durable, sharedChangeFeed: true, tenantConcurrency: !options.cluster };
    this.#scripts = storeScripts(handle.client);
    this.#feed = new RedisChangeFeed(handle, `${options.key_prefix}:changes`, logger);
    this.#replay = new RedisReplay(handle.client);
    this.#idempotency = new RedisIdempotency(handle.client, options.key_prefix);
    this.rateWindows = new RedisRateWindows(handle.client, options.key_prefix);
    this.#lists = new RedisListIndex(handle.client, options.key_prefix, (id) => this.#read(id), logger);
    this.#pruner = setInterval(() => void this.pruneListIndex().catch((error: unknown) => logger.warn({ err: error }, 'redis store: pruning the list index failed; the next run goes on')), PRUNE_INTERVAL_MS);
    this.#pruner.unref();
    this.analytics = new RedisAnalytics(handle.client, options.key_prefix, () => this.#assertOpen());
    this[FUSION] = {
      technology: 'redis',
      role: 'store',
      handle,
      lua: { ...STORE_LUA, index: INDEX_LUA },
      assertOpen: () => this.#assertOpen(),
      creation: (request) => this.#creation(request),
      transition: (request) => {
        const call = this.#transitionCall(request, null);
        return { ...call, result: (reply) => holdIsConflict(call.result(reply)) };
      },
    };
  }

  async create(request: NewRequest): Promise<RequestRecord> {
    this.#assertOpen();
    const { record, create, index, created } = this.#creation(request);
    // The index entry is written in the same turn, not after: a record is never left out of the
    // list, while an entry whose record was not created is skipped and dropped by readers.
    const [indexed, stored] = await Promise.allSettled([
      guarded('indexing a request', this.#lists.index(index.keys, index.args)),
      guarded('creating a request record', this.#scripts.create(create.keys, create.args)),
    ]);
    if (stored.status === 'rejected') throw stored.reason;
    if (stored.value === 1 && indexed.status === 'rejected') {
      await this.handle.client.del(...this.#keys(record.id)).catch(() => undefined);
      throw indexed.reason;
    }
    if (stored.value !== 1) throw duplicate(record.id);
    created();
    return record;
  }

  /** A create's record, its script call and its list-index call, and what to tell once it is stored. */
  #creation(request: NewRequest): { record: RequestRecord; create: RedisCall; index: RedisCall; created: () => void } {
    const { record } = initialRecord(request);
    return {
      record,
      create: { keys: this.#keys(record.id), args: [record.expiresAt, ...recordFields(record)] },
      index: this.#lists.putCall(record, 'create'),
      // Creation is not published (as with the SQLite store): nobody waits for a PENDING.
      created: () => this.#feed.emitLocal({ id: record.id, status: record.status }),
    };
  }

  async get(id: string): Promise<RequestRecord | undefined> {
    await this.#feed.settled();
    const hash = await guarded('reading a request', this.handle.client.hgetall(this.#keys(id)[0]));
    return fromHash(id, hash);
  }

  async transition(request: TransitionRequest): Promise<TransitionResult> {
    return holdIsConflict(await this.#compareAndSet(request, null));
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    // The script decides the attempt (the record's plus one) and the lease; `attempt` here only
    // fills the compiled writes, which are applied below with the attempt the script read.
    const now = Date.now();
    const change = { id: request.id, from: ['PENDING', 'PROCESSING'] as const, to: 'PROCESSING' as const, attempt: 0, workerId: request.workerId, error: null, tenantLimit: request.tenantLimit ?? null };
    const result = await this.#compareAndSet(change, { leaseMs: request.leaseMs, now });
    if (!result.ok) return result;
    return { ok: true, record: result.record, leaseUntil: now + request.leaseMs };
  }

  async renewLease(id: string, attempt: number, leaseMs: number): Promise<boolean> {
    this.#assertOpen();
    const [key] = this.#keys(id);
    return (await guarded('renewing a lease', this.#scripts.renew([key], [attempt, Date.now() + leaseMs]))) === 1;
  }

  async #compareAndSet(request: TransitionRequest, claim: { leaseMs: number; now: number } | null): Promise<TransitionResult | Extract<ClaimResult, { reason: 'held' }>> {
    this.#assertOpen();
    const call = this.#transitionCall(request, claim);
    return call.result(await guarded('changing a request status', this.#scripts.transition(call.keys, call.args)));
  }

  /** The transition script's KEYS and ARGV for `request`, and the reading of its reply (sent alone, or inside a fused finish). */
  #transitionCall(request: TransitionRequest, claim: { leaseMs: number; now: number } | null): RedisCall & { result(reply: unknown): TransitionResult | Extract<ClaimResult, { reason: 'held' }> } {
    const { guard, writes } = compileTransition(request, claim?.now ?? Date.now());
    const limit = request.tenantLimit ?? null;
    if (limit !== null && !this.capabilities.tenantConcurrency) {
      throw new HqmError('HQM_ERR_CAPABILITY', 'per-tenant max_concurrency needs a single Redis node (not redis.cluster) as result store', { retryable: false });
    }
    const args = transitionArgs(request.id, guard, writes, this.#feed, { slotsPrefix: this.capabilities.tenantConcurrency ? tenantSlotsPrefix(this.options.key_prefix) : '', limit }, claim?.leaseMs ?? null);
    const result = (raw: unknown): TransitionResult | Extract<ClaimResult, { reason: 'held' }> => {
      const [code, values = []] = raw as [number, Array<string | null>?];
      if (code === 0) return { ok: false, reason: 'not_found' };
      if (code === 1 || code === 3 || code === 4) {
        const hash = pairs(values as string[]);
        const current = fromHash(request.id, hash);
        if (current === undefined) return { ok: false, reason: 'not_found' };
        if (code === 4) return { ok: false, reason: 'held', current, leaseUntil: Number(hash.lu) };
        return { ok: false, reason: code === 3 ? 'tenant_busy' : 'conflict', current };
      }
      // The script applied `writes` to this record; the same function gives the new record here.
      const before = fromHash(request.id, currentHash(values), null) as RequestRecord;
      const attempt = claim === null ? writes.attempt : before.attempt + 1;
      const { record } = applyWrites(before, claim === null ? writes : { ...writes, attempt, recordAttempt: attempt });
      // Not awaited: the index write is queued on this connection now, so every later command of
      // this process (a list among them) runs after it, and no transition waits a round trip for
      // an index that readers repair anyway (D90).
      void this.#lists.moved(record);
      this.#feed.emitLocal({ id: record.id, status: record.status });
      return { ok: true, record };
    };
    return { keys: this.#keys(request.id), args, result };
  }

  async replay(request: ReplayChange): Promise<TransitionResult> {
    this.#assertOpen();
    const result = await this.#replay.replay(this.#keys(request.id), request, this.#feed);
    if (result.ok) {
      void this.#lists.moved(result.record);
      this.#feed.emitLocal({ id: request.id, status: result.record.status });
    }
    return result;
  }

  async setProgress(id: string, attempt: number, progress: number): Promise<boolean> {
    const [key] = this.#keys(id);
    const recorded = (await guarded('recording progress', this.#scripts.progress([key], [attempt, progress, Date.now(), this.#feed.channel, this.#feed.origin, id]))) === 1;
    if (recorded) this.#feed.emitLocal({ id, status: 'PROCESSING', progress });
    return recorded;
  }

  async events(id: string): Promise<readonly RequestEvent[]> {
    const [recordKey, eventsKey] = this.#keys(id);
    const client = this.handle.client;
    const [submittedAt, trail] = await guarded('reading the audit trail', Promise.all([client.hget(recordKey, 't'), client.lrange(eventsKey, 0, -1)]));
    if (submittedAt === null) return [];
    const created: RequestEvent = { at: Number(submittedAt), from: null, to: 'PENDING', attempt: 0, workerId: null, error: null };
    return [created, ...trail.map(eventFromJson)];
  }

  async appendNote(id: string, note: TrailNote): Promise<boolean> {
    this.#assertOpen();
    const json = encodeNote(note);
    return (await guarded('noting in the audit trail', this.#scripts.note(this.#keys(id), [Date.now(), json]))) === 1;
  }

  async delete(id: string): Promise<void> {
    await Promise.all([guarded('deleting a request', this.handle.client.del(...this.#keys(id))), this.#lists.remove(id)]);
  }

  async list(query: ListQuery): Promise<ListPage<RequestRecord>> {
    return this.#lists.page(query);
  }

  /** Drops list index entries of expired records (a timer runs it; a call while one runs joins it). */
  pruneListIndex(): Promise<number> {
    this.#pruning ??= this.#lists.prune().finally(() => {
      this.#pruning = undefined;
    });
    return this.#pruning;
  }

  async claimIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyClaimResult> {
    this.#assertOpen();
    return this.#idempotency.claim(claim);
  }

  async releaseIdempotencyKey(scope: string, key: string, firstId: string): Promise<void> {
    await this.#idempotency.release(scope, key, firstId);
  }

  onChange(listener: ChangeListener): () => void {
    return this.#feed.subscribe(listener);
  }

  async health(): Promise<HealthReport> {
    return this.#closed ? { ok: false, detail: 'closed' } : this.handle.health();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pruner);
    await this.#pruning?.catch(() => undefined);
    await this.#feed.close();
    await this.handle.release();
  }

  /** A record as stored, without waiting for the change feed (list and prune read many). */
  async #read(id: string): Promise<RequestRecord | undefined> {
    return fromHash(id, await guarded('reading a request', this.handle.client.hgetall(this.#keys(id)[0])));
  }

  #keys(id: string): [string, string] {
    return recordKeys(this.options.key_prefix, id);
  }

  #assertOpen(): void {
    if (this.#closed) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the Redis result store is closed', { retryable: false });
  }
}

/** A plain transition never holds: a lease refusal (claims only) reads as the conflict it is. */
function holdIsConflict(result: TransitionResult | Extract<ClaimResult, { reason: 'held' }>): TransitionResult {
  return result.ok || result.reason !== 'held' ? result : { ok: false, reason: 'conflict', current: result.current };
}

function duplicate(id: string): HqmError {
  return new HqmError('HQM_ERR_DUPLICATE_ID', `a request with id ${id} already exists`, { details: { id } });
}

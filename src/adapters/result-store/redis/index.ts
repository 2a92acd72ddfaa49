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
import type { NewRequest, RequestEvent, RequestRecord } from '../../../core/request/record.js';
import { applyWrites, compileTransition, initialRecord } from '../../../core/request/transition.js';
import type { AdapterContext, ResultStoreFactory } from '../../../ports/adapter.js';
import type { HealthReport } from '../../../ports/health.js';
import type { Logger } from '../../../ports/logger.js';
import type {
  ChangeListener,
  IdempotencyClaim,
  IdempotencyClaimResult,
  ResultStore,
  ResultStoreCapabilities,
  TransitionRequest,
  TransitionResult,
} from '../../../ports/result-store.js';
import { parseOptions } from '../../shared/options.js';
import { acquireRedis, type RedisHandle } from '../../shared/redis/client.js';
import { guarded } from '../../shared/redis/errors.js';
import { redisConnectionSchema, type RedisConnectionOptions } from '../../shared/redis/options.js';
import { RedisChangeFeed } from './change-feed.js';
import { RedisIdempotency } from './idempotency.js';
import { currentHash, eventFromJson, fromHash, pairs, recordFields, recordKeys, tenantSlotsPrefix, transitionArgs } from './records.js';
import { storeScripts, type StoreScripts } from './scripts.js';

export const factory: ResultStoreFactory = {
  type: 'redis',
  async create(raw, context: AdapterContext) {
    const options = parseOptions(redisConnectionSchema, raw, 'redis');
    const logger = context.logger.child({ component: 'store', backend: 'redis' });
    const handle = await acquireRedis(options, logger);
    return new RedisResultStore(handle, options, handle.server.durable, logger);
  },
};

class RedisResultStore implements ResultStore {
  readonly type = 'redis';
  readonly capabilities: ResultStoreCapabilities;
  readonly #scripts: StoreScripts;
  readonly #feed: RedisChangeFeed;
  readonly #idempotency: RedisIdempotency;
  #closed = false;

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
    this.#idempotency = new RedisIdempotency(handle.client, options.key_prefix);
  }

  async create(request: NewRequest): Promise<RequestRecord> {
    this.#assertOpen();
    const { record } = initialRecord(request);
    const created = await guarded('creating a request record', this.#scripts.create(this.#keys(record.id), [record.expiresAt, ...recordFields(record)]));
    if (created !== 1) throw new HqmError('HQM_ERR_DUPLICATE_ID', `a request with id ${record.id} already exists`, { details: { id: record.id } });
    // Creation is not published (as with the SQLite store): nobody waits for a PENDING.
    this.#feed.emitLocal({ id: record.id, status: record.status });
    return record;
  }

  async get(id: string): Promise<RequestRecord | undefined> {
    await this.#feed.settled();
    const hash = await guarded('reading a request', this.handle.client.hgetall(this.#keys(id)[0]));
    return fromHash(id, hash);
  }

  async transition(request: TransitionRequest): Promise<TransitionResult> {
    this.#assertOpen();
    const { guard, writes } = compileTransition(request, Date.now());
    const limit = request.tenantLimit ?? null;
    if (limit !== null && !this.capabilities.tenantConcurrency) {
      throw new HqmError('HQM_ERR_CAPABILITY', 'per-tenant max_concurrency needs a single Redis node (not redis.cluster) as result store', { retryable: false });
    }
    const args = transitionArgs(request.id, guard, writes, this.#feed, { slotsPrefix: this.capabilities.tenantConcurrency ? tenantSlotsPrefix(this.options.key_prefix) : '', limit });
    const reply = (await guarded('changing a request status', this.#scripts.transition(this.#keys(request.id), args))) as [number, Array<string | null>?];
    const [code, values = []] = reply;
    if (code === 0) return { ok: false, reason: 'not_found' };
    if (code === 1 || code === 3) {
      const current = fromHash(request.id, pairs(values as string[]));
      if (current === undefined) return { ok: false, reason: 'not_found' };
      return { ok: false, reason: code === 3 ? 'tenant_busy' : 'conflict', current };
    }
    // The script applied `writes` to this record; the same function gives the new record here.
    const before = fromHash(request.id, currentHash(values), null) as RequestRecord;
    const { record } = applyWrites(before, writes);
    this.#feed.emitLocal({ id: record.id, status: record.status });
    return { ok: true, record };
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

  async delete(id: string): Promise<void> {
    await guarded('deleting a request', this.handle.client.del(...this.#keys(id)));
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
    await this.#feed.close();
    await this.handle.release();
  }

  #keys(id: string): [string, string] {
    return recordKeys(this.options.key_prefix, id);
  }

  #assertOpen(): void {
    if (this.#closed) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the Redis result store is closed', { retryable: false });
  }
}

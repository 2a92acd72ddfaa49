/**
 * `cache.type: memory` — the reference ResultStore, in one process and not durable.
 *
 * @module
 */
import { HqmError } from '../../../core/errors.js';
import type { RequestEvent, RequestRecord, NewRequest, TrailNote } from '../../../core/request/record.js';
import { decodeNote, encodeNote, noteEvent } from '../../../core/request/trail.js';
import { matchesListQuery, positionFromKey, positionKey, timeKey, type ListPage, type ListPosition, type ListQuery } from '../../../core/request/list.js';
import { slotHeldUntil, takesTenantSlot } from '../../../core/request/tenant-slots.js';
import { planReplay, type ReplayChange } from '../../../core/request/replay.js';
import { initialRecord, planTransition } from '../../../core/request/transition.js';
import { planClaim } from '../../../core/request/claim.js';
import type { ResultStoreFactory } from '../../../ports/adapter.js';
import { silentLogger, type Logger } from '../../../ports/logger.js';
import { ChangeFeed } from '../../shared/change-feed.js';
import { fixedIndexes, indexFor, statusIndexes, upperBound } from '../../shared/list-index.js';
import { MemoryListIndexes } from './list-index.js';
import { MemoryAnalytics } from './analytics.js';
import type { HealthReport } from '../../../ports/health.js';
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

export const factory: ResultStoreFactory = {
  type: 'memory',
  async create(_options, context) {
    return new MemoryResultStore(undefined, context.logger.child({ component: 'store', backend: 'memory' }));
  },
};

/** Entries looked at between two yields of the sweep. */
const SWEEP_SLICE = 10_000;

interface Entry {
  record: RequestRecord;
  readonly events: RequestEvent[];
  /** The claim's lease (D130); meaningful only while the record is PROCESSING. */
  leaseUntil: number | null;
}

export class MemoryResultStore implements ResultStore {
  readonly type = 'memory';
  readonly capabilities: ResultStoreCapabilities = { durable: false, sharedChangeFeed: false, tenantConcurrency: true };
  readonly #entries = new Map<string, Entry>();
  readonly #claims = new Map<string, { readonly ids: readonly string[]; readonly fingerprint: string; readonly expiresAt: number }>();
  /** Per tenant, the ids that were PROCESSING when last seen; checked against the records when counted. */
  readonly #processing = new Map<string, Set<string>>();
  readonly #feed: ChangeFeed;
  readonly #lists = new MemoryListIndexes((name, key) => this.#belongs(name, key));
  readonly #sweeper: NodeJS.Timeout;
  #sweeping: Promise<number> | undefined;
  #closed = false;
  /** Per process, like the records: every process of a memory deployment is alone. */
  readonly analytics = new MemoryAnalytics(() => this.#assertOpen());

  /** `logger` hears of change listeners that throw; tests may leave it silent. */
  constructor(sweepIntervalMs = 5_000, logger: Logger = silentLogger) {
    this.#feed = new ChangeFeed(logger);
    this.#sweeper = setInterval(() => {
      void this.sweep();
      const now = Date.now();
      for (const [name, claim] of this.#claims) if (claim.expiresAt <= now) this.#claims.delete(name);
    }, sweepIntervalMs);
    this.#sweeper.unref();
  }

  /**
   * Forgets every expired record: all of them, in slices of SWEEP_SLICE with a yield between,
   * so a large store never holds the event loop for long. A call while one runs joins it.
   */
  sweep(): Promise<number> {
    this.#sweeping ??= this.#sweepAll().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  /** Whether the store still holds `id`, expired but not yet swept included. */
  holds(id: string): boolean {
    return this.#entries.has(id);
  }

  async #sweepAll(): Promise<number> {
    let removed = 0;
    let seen = 0;
    // A Map iterator survives deletions and sees entries added meanwhile.
    for (const [id, entry] of this.#entries) {
      if (entry.record.expiresAt <= Date.now()) {
        this.#forget(id, entry);
        removed += 1;
      }
      seen += 1;
      if (seen % SWEEP_SLICE === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return removed;
  }

  async create(request: NewRequest): Promise<RequestRecord> {
    this.#assertOpen();
    if (this.#live(request.id) !== undefined) {
      throw new HqmError('HQM_ERR_DUPLICATE_ID', `a request with id ${request.id} already exists`, { details: { id: request.id } });
    }
    const { record, event } = initialRecord(request);
    this.#entries.set(request.id, { record, events: [event], leaseUntil: null });
    this.#lists.add(record);
    this.#feed.emit({ id: record.id, status: record.status });
    return record;
  }

  async get(id: string): Promise<RequestRecord | undefined> {
    return this.#live(id)?.record;
  }

  async transition(request: TransitionRequest): Promise<TransitionResult> {
    this.#assertOpen();
    const entry = this.#live(request.id);
    if (entry === undefined) return { ok: false, reason: 'not_found' };
    return this.#apply(entry, request, Date.now());
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    this.#assertOpen();
    const entry = this.#live(request.id);
    if (entry === undefined) return { ok: false, reason: 'not_found' };
    const now = Date.now();
    const plan = planClaim(entry.record, entry.leaseUntil, request, now);
    if (plan.kind === 'finished') return { ok: false, reason: 'conflict', current: entry.record };
    if (plan.kind === 'held') return { ok: false, reason: 'held', current: entry.record, leaseUntil: plan.leaseUntil };
    const applied = this.#apply(entry, { id: request.id, ...plan.change, tenantLimit: request.tenantLimit ?? null }, now);
    if (!applied.ok) return applied;
    entry.leaseUntil = plan.leaseUntil;
    return { ok: true, record: applied.record, leaseUntil: plan.leaseUntil };
  }

  async renewLease(id: string, attempt: number, leaseMs: number): Promise<boolean> {
    this.#assertOpen();
    const entry = this.#live(id);
    if (entry === undefined || entry.record.status !== 'PROCESSING' || entry.record.attempt !== attempt) return false;
    entry.leaseUntil = Date.now() + leaseMs;
    return true;
  }

  #apply(entry: Entry, request: TransitionRequest, now: number): TransitionResult {
    const plan = planTransition(entry.record, request, now);
    if (!plan.ok) return { ok: false, reason: 'conflict', current: entry.record };
    const limit = request.tenantLimit ?? null;
    if (limit !== null && takesTenantSlot(entry.record, request.to) && this.#slotsHeld(entry.record.tenant, now) >= limit) {
      return { ok: false, reason: 'tenant_busy', current: entry.record };
    }
    if (plan.record.status === 'PROCESSING' && plan.record.tenant !== null) {
      const ids = this.#processing.get(plan.record.tenant) ?? new Set<string>();
      this.#processing.set(plan.record.tenant, ids.add(plan.record.id));
    }
    const before = entry.record.status;
    entry.record = plan.record;
    entry.events.push(plan.event);
    this.#lists.moved(plan.record, before);
    this.#feed.emit({ id: plan.record.id, status: plan.record.status });
    return { ok: true, record: plan.record };
  }

  async replay(request: ReplayChange): Promise<TransitionResult> {
    this.#assertOpen();
    const entry = this.#live(request.id);
    if (entry === undefined) return { ok: false, reason: 'not_found' };
    const plan = planReplay(entry.record, request, Date.now());
    if (!plan.ok) return { ok: false, reason: 'conflict', current: entry.record };
    const before = entry.record.status;
    entry.record = plan.record;
    this.#lists.moved(plan.record, before);
    entry.events.push(plan.event);
    this.#feed.emit({ id: plan.record.id, status: plan.record.status });
    return { ok: true, record: plan.record };
  }

  async setProgress(id: string, attempt: number, progress: number): Promise<boolean> {
    const entry = this.#live(id);
    if (entry === undefined || entry.record.status !== 'PROCESSING' || entry.record.attempt !== attempt) return false;
    entry.record = { ...entry.record, progress, updatedAt: Date.now() };
    this.#feed.emit({ id, status: 'PROCESSING', progress });
    return true;
  }

  async events(id: string): Promise<readonly RequestEvent[]> {
    return [...(this.#live(id)?.events ?? [])];
  }

  async appendNote(id: string, note: TrailNote): Promise<boolean> {
    const entry = this.#live(id);
    if (entry === undefined) return false;
    // Through JSON, as the other stores keep it: the same bound, the same round trip.
    entry.events.push(noteEvent(entry.record, decodeNote(encodeNote(note)), Date.now()));
    return true;
  }

  async delete(id: string): Promise<void> {
    const entry = this.#entries.get(id);
    if (entry !== undefined) this.#forget(id, entry);
  }

  async list(query: ListQuery): Promise<ListPage<RequestRecord>> {
    const upper = upperBound(query);
    const lower = query.since === undefined ? undefined : timeKey(query.since);
    const records: RequestRecord[] = [];
    let next: ListPosition | null = null;
    for (const key of this.#lists.descending(indexFor(query), upper, lower)) {
      if (records.length === query.limit) {
        // One more live entry exists: the page is not the last.
        next = positionFromKey(positionKey(records[records.length - 1] as RequestRecord));
        break;
      }
      const record = this.#entries.get(positionFromKey(key).id)?.record;
      if (record !== undefined && matchesListQuery(query, record)) records.push(record);
    }
    return { records, next };
  }

  async claimIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyClaimResult> {
    this.#assertOpen();
    const name = claimName(claim.scope, claim.key);
    const now = Date.now();
    const held = this.#claims.get(name);
    if (held !== undefined && held.expiresAt > now) return { created: false, ids: held.ids, fingerprint: held.fingerprint };
    this.#claims.set(name, { ids: [...claim.ids], fingerprint: claim.fingerprint, expiresAt: now + claim.ttlMs });
    return { created: true };
  }

  async releaseIdempotencyKey(scope: string, key: string, firstId: string): Promise<void> {
    const name = claimName(scope, key);
    if (this.#claims.get(name)?.ids[0] === firstId) this.#claims.delete(name);
  }

  onChange(listener: ChangeListener): () => void {
    return this.#feed.subscribe(listener);
  }

  async health(): Promise<HealthReport> {
    return this.#closed ? { ok: false, detail: 'closed' } : { ok: true };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#feed.clear();
  }

  #live(id: string): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.record.expiresAt > Date.now()) return entry;
    this.#forget(id, entry);
    return undefined;
  }

  #forget(id: string, entry: Entry): void {
    this.#entries.delete(id);
    this.#lists.removed(entry.record);
  }

  /** Whether a list index entry still stands for a live record that belongs in that index. */
  #belongs(name: string, key: string): boolean {
    const record = this.#entries.get(positionFromKey(key).id)?.record;
    if (record === undefined || record.expiresAt <= Date.now() || positionKey(record) !== key) return false;
    return fixedIndexes(record).includes(name) || statusIndexes(record, record.status).includes(name);
  }

  /** Records of `tenant` holding a slot now; forgets those that no longer do. */
  #slotsHeld(tenant: string, now: number): number {
    const ids = this.#processing.get(tenant);
    if (ids === undefined) return 0;
    for (const id of ids) {
      const record = this.#live(id)?.record;
      if (record === undefined || record.status !== 'PROCESSING' || slotHeldUntil(record) <= now) ids.delete(id);
    }
    if (ids.size === 0) this.#processing.delete(tenant);
    return ids.size;
  }

  #assertOpen(): void {
    if (this.#closed) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the memory result store is closed', { retryable: false });
  }
}


/** Unambiguous whatever characters the tenant or the key hold. */
function claimName(scope: string, key: string): string {
  return JSON.stringify([scope, key]);
}


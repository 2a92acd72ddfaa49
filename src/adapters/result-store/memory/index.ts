/**
 * `cache.type: memory` — the reference ResultStore, in one process and not durable.
 *
 * @module
 */
import { HqmError } from '../../../core/errors.js';
import type { RequestEvent, RequestRecord, NewRequest } from '../../../core/request/record.js';
import { slotHeldUntil, takesTenantSlot } from '../../../core/request/tenant-slots.js';
import { initialRecord, planTransition } from '../../../core/request/transition.js';
import type { ResultStoreFactory } from '../../../ports/adapter.js';
import { ChangeFeed } from '../../shared/change-feed.js';
import type { HealthReport } from '../../../ports/health.js';
import type {
  ChangeListener,
  ResultStore,
  ResultStoreCapabilities,
  TransitionRequest,
  TransitionResult,
} from '../../../ports/result-store.js';

export const factory: ResultStoreFactory = {
  type: 'memory',
  async create() {
    return new MemoryResultStore();
  },
};

interface Entry {
  record: RequestRecord;
  readonly events: RequestEvent[];
}

export class MemoryResultStore implements ResultStore {
  readonly type = 'memory';
  readonly capabilities: ResultStoreCapabilities = { durable: false, sharedChangeFeed: false, tenantConcurrency: true };
  readonly #entries = new Map<string, Entry>();
  /** Per tenant, the ids that were PROCESSING when last seen; checked against the records when counted. */
  readonly #processing = new Map<string, Set<string>>();
  readonly #feed = new ChangeFeed();
  readonly #sweeper: NodeJS.Timeout;
  #closed = false;

  constructor(sweepIntervalMs = 60_000) {
    this.#sweeper = setInterval(() => {
      for (const id of this.#entries.keys()) this.#live(id);
    }, sweepIntervalMs);
    this.#sweeper.unref();
  }

  async create(request: NewRequest): Promise<RequestRecord> {
    this.#assertOpen();
    if (this.#live(request.id) !== undefined) {
      throw new HqmError('HQM_ERR_DUPLICATE_ID', `a request with id ${request.id} already exists`, { details: { id: request.id } });
    }
    const { record, event } = initialRecord(request);
    this.#entries.set(request.id, { record, events: [event] });
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
    const now = Date.now();
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
    entry.record = plan.record;
    entry.events.push(plan.event);
    this.#feed.emit({ id: plan.record.id, status: plan.record.status });
    return { ok: true, record: plan.record };
  }

  async setProgress(id: string, attempt: number, progress: number): Promise<boolean> {
    const entry = this.#live(id);
    if (entry === undefined || entry.record.status !== 'PROCESSING' || entry.record.attempt !== attempt) return false;
    entry.record = { ...entry.record, progress, updatedAt: Date.now() };
    return true;
  }

  async events(id: string): Promise<readonly RequestEvent[]> {
    return [...(this.#live(id)?.events ?? [])];
  }

  async delete(id: string): Promise<void> {
    this.#entries.delete(id);
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
    this.#entries.delete(id);
    return undefined;
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


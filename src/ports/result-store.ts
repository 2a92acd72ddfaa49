/**
 * ResultStore: where request records, outcomes and the audit trail live. The contract, which
 * src/conformance/result-store.ts checks against each adapter on a real server:
 *
 * - **Compare-and-set.** `transition` applies only when the record's current status is in
 *   `from`, the lifecycle allows the move and the attempt fence holds (`attemptMayMove`);
 *   the new status, the outcome, the error and the audit event are written together, so no
 *   reader ever sees a terminal status without its outcome. Terminal records never change.
 * - **Exact round trip.** Whatever JSON an outcome carries comes back equal.
 * - **TTL.** A record is gone (`get` answers undefined) once `expiresAt` has passed;
 *   reaching a terminal status restarts the TTL so a result lives `ttlMs` after it finished.
 * - **Notes.** `appendNote` adds a line to the trail, in order with the transitions, and
 *   changes nothing else.
 * - **Change feed.** `onChange` reports every applied transition, including those made by
 *   other processes sharing the store where `capabilities.sharedChangeFeed` holds. Where
 *   subscribing takes a round trip (Redis pub/sub), the first `get` after `onChange` waits for
 *   it: a listener that subscribes and then reads (as a long-poll does) misses nothing that
 *   lands after its read. A `setProgress` that applies is reported too (status PROCESSING,
 *   with `progress`), to this process's listeners always and to other processes' where the
 *   feed carries it (Redis; SQLite's cross-process feed follows the trail, so not there).
 * - **Idempotency keys.** `claimIdempotencyKey` is one atomic reserve-or-read: of any number
 *   of concurrent claims on one (scope, key), exactly one answers `created`; the others answer
 *   the ids and fingerprint it reserved, until `ttlMs` has passed or it is released.
 * - **Tenant slots.** A claim (a move to PROCESSING) given `tenantLimit` is refused with
 *   `tenant_busy`, in the same atomic step, when the record's tenant already has that many
 *   records holding a slot (core/request/tenant-slots.ts: PROCESSING, before its deadline), so
 *   the limit holds across every process sharing the store. Where
 *   `capabilities.tenantConcurrency` is false the store cannot count atomically and refuses to
 *   be given a limit.
 *
 * - **Claims and leases (D130).** `claim` is the one way a worker takes a request: in one atomic
 *   step it refuses a finished record (`conflict`), refuses a PROCESSING record whose lease is
 *   live (`held`, record unchanged), applies the tenant limit, and otherwise moves the record to
 *   PROCESSING under `attempt + 1` with a lease of `leaseMs` (core/request/claim.ts). So the
 *   attempt counts runs, a second copy of a message never runs beside the first, and a take-over
 *   happens only once the holder's lease lapsed. `renewLease` extends the lease of the attempt
 *   that holds the record and of no other. A move back to PENDING with `refund` keeps
 *   `attempt - 1`, so a run given back (shutdown, deferral) is not counted.
 *
 * - **Listing.** `list` answers from an index, never a scan of every record: newest first by
 *   submittedAt, ties by id (core/request/list.ts), only records that are still there (an
 *   expired record is never listed, and its index entries do not outlive it for long), and
 *   every filter applied in the index read itself, so a page is never cut down after the fact.
 *
 * @module
 */
import type { Status } from '../core/request/lifecycle.js';
import type { NewRequest, RequestEvent, RequestRecord, TrailNote } from '../core/request/record.js';
import type { ListPage, ListQuery } from '../core/request/list.js';
import type { ReplayChange } from '../core/request/replay.js';
import type { TransitionChange } from '../core/request/transition.js';
import type { AnalyticsStore } from './analytics-store.js';
import type { HealthReport } from './health.js';
import type { MethodNames } from './members.js';

/** A compare-and-set on one record; the rules are `planTransition` in core. */
export interface TransitionRequest extends TransitionChange {
  readonly id: string;
  /** For a claim: most records of this record's tenant that may hold a slot; null or absent: no limit. */
  readonly tenantLimit?: number | null;
}

export type TransitionResult =
  | { readonly ok: true; readonly record: RequestRecord }
  | { readonly ok: false; readonly reason: 'not_found' }
  | { readonly ok: false; readonly reason: 'conflict'; readonly current: RequestRecord }
  /** The claim would exceed `tenantLimit`; the record is unchanged. */
  | { readonly ok: false; readonly reason: 'tenant_busy'; readonly current: RequestRecord };

/** A worker taking a request (see the contract above). */
export interface ClaimRequest {
  readonly id: string;
  readonly workerId: string;
  /** The lease, from the store's write; renewed with `renewLease`. */
  readonly leaseMs: number;
  /** As in TransitionRequest: most records of this tenant that may hold a slot; null or absent: no limit. */
  readonly tenantLimit?: number | null;
}

export type ClaimResult =
  /** Claimed: `record.attempt` is the attempt this run is; the lease lasts until `leaseUntil`. */
  | { readonly ok: true; readonly record: RequestRecord; readonly leaseUntil: number }
  | { readonly ok: false; readonly reason: 'not_found' }
  /** Finished (terminal): nothing to run. */
  | { readonly ok: false; readonly reason: 'conflict'; readonly current: RequestRecord }
  /** PROCESSING under another attempt whose lease is live until `leaseUntil`; the record is unchanged. */
  | { readonly ok: false; readonly reason: 'held'; readonly current: RequestRecord; readonly leaseUntil: number }
  | { readonly ok: false; readonly reason: 'tenant_busy'; readonly current: RequestRecord };

export interface RecordChange {
  readonly id: string;
  readonly status: Status;
  /** Set when the change is a progress report (setProgress) rather than a transition. */
  readonly progress?: number;
}

export type ChangeListener = (change: RecordChange) => void;

export interface ResultStoreCapabilities {
  /** Records survive a restart. */
  readonly durable: boolean;
  /** `onChange` also reports transitions made by other processes. */
  readonly sharedChangeFeed: boolean;
  /** `tenantLimit` is honoured atomically (see the contract above). */
  readonly tenantConcurrency: boolean;
}

export interface IdempotencyClaim {
  /** Who may replay: the tenant, or '' for requests without one (its own scope). */
  readonly scope: string;
  /** The client's Idempotency-Key. */
  readonly key: string;
  /** SHA-256 of the canonical request body; a replay must match it. */
  readonly fingerprint: string;
  /** The correlation ids the claiming submit will create (one, or a batch's in order). */
  readonly ids: readonly string[];
  readonly ttlMs: number;
}

export type IdempotencyClaimResult =
  | { readonly created: true }
  | { readonly created: false; readonly ids: readonly string[]; readonly fingerprint: string };

/**
 * Fixed-window hit counts kept in the store, so that every process using it shares them (the
 * per-tenant submit rate). A window opens with the first hit on its key and lasts `windowMs`.
 */
export interface RateWindows {
  /** Counts one hit on `key`: the hits in the current window so far (this one included) and the ms until it closes. */
  hit(key: string, windowMs: number): Promise<{ readonly count: number; readonly resetInMs: number }>;
}

export interface ResultStore {
  readonly type: string;
  readonly capabilities: ResultStoreCapabilities;
  /** Present where processes share the store (Redis); absent, each process counts on its own. */
  readonly rateWindows?: RateWindows;
  /** Creates a PENDING record (and its first event). Rejects HQM_ERR_DUPLICATE_ID if the id exists. */
  create(request: NewRequest): Promise<RequestRecord>;
  get(id: string): Promise<RequestRecord | undefined>;
  transition(request: TransitionRequest): Promise<TransitionResult>;
  /** Takes the record for a run: compare-and-set with a lease, the attempt decided by the store (see the contract above). */
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /** Extends the lease of `attempt` to `leaseMs` from now; false when the record is not PROCESSING under `attempt` (lost, taken over, finished). */
  renewLease(id: string, attempt: number, leaseMs: number): Promise<boolean>;
  /**
   * Replay of a dead letter: moves a FAILED or TIMEOUT record back to PENDING as `planReplay`
   * (core/request/replay.ts) says, with its trail event, atomically; reported on the change
   * feed like a transition. Any other status is a `conflict` with the current record.
   */
  replay(request: ReplayChange): Promise<TransitionResult>;
  /** Records processor progress (0..100) while `attempt` holds the record in PROCESSING. */
  setProgress(id: string, attempt: number, progress: number): Promise<boolean>;
  /** The audit trail, oldest first; empty when the record is unknown or expired. */
  events(id: string): Promise<readonly RequestEvent[]>;
  /**
   * Appends a note to the trail of a live record, stamped with its current status and attempt;
   * false when the record is unknown or expired. Not a transition: `onChange` does not report it.
   */
  appendNote(id: string, note: TrailNote): Promise<boolean>;
  /** Removes a record and its events (used to undo a submit whose publish failed). */
  delete(id: string): Promise<void>;
  /** Reserves (scope, key) for `ids` unless a live reservation exists, which it answers instead. */
  claimIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyClaimResult>;
  /** Frees a reservation so a retry may claim it again; only while `firstId` (its ids[0]) still holds it. */
  releaseIdempotencyKey(scope: string, key: string, firstId: string): Promise<void>;
  /** Records matching `query`, newest first, from an index (see the contract above). */
  list(query: ListQuery): Promise<ListPage<RequestRecord>>;
  /** The hourly analytics counters, kept in the same backend (see ports/analytics-store.ts). */
  readonly analytics: AnalyticsStore;
  /** Subscribes to the change feed; returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void;
  health(): Promise<HealthReport>;
  /** Flushes pending writes and frees the connection. Idempotent. */
  close(): Promise<void>;
}

/** Every method of ResultStore, which a custom store's object must have (D280); the compiler keeps the list whole. */
export const RESULT_STORE_METHODS = Object.keys({
  create: 0,
  get: 0,
  transition: 0,
  claim: 0,
  renewLease: 0,
  replay: 0,
  setProgress: 0,
  events: 0,
  appendNote: 0,
  delete: 0,
  claimIdempotencyKey: 0,
  releaseIdempotencyKey: 0,
  list: 0,
  onChange: 0,
  health: 0,
  close: 0,
} satisfies Record<MethodNames<ResultStore>, 0>) as ReadonlyArray<MethodNames<ResultStore>>;

/** Every key of ResultStoreCapabilities, which a custom store must declare. */
export const RESULT_STORE_CAPABILITY_KEYS = Object.keys({
  durable: 0,
  sharedChangeFeed: 0,
  tenantConcurrency: 0,
} satisfies Record<keyof ResultStoreCapabilities, 0>) as ReadonlyArray<keyof ResultStoreCapabilities>;

/**
 * What the ResultStore suites share: the harness a store's test file gives, and the requests and
 * outcomes they write. Apart from result-store.ts so that its list cases (result-store-list.ts)
 * can use them without importing the module that imports them back.
 */
import { randomUUID } from 'node:crypto';
import type { NewRequest, Outcome } from '../core/request/record.js';
import type { ResultStore } from '../ports/result-store.js';

export interface StoreHarness {
  open(): Promise<ResultStore>;
  /** Runs the store's expiry once, as its timer does; absent where the server expires keys itself (Redis). */
  expire?(store: ResultStore): Promise<void>;
  /** How many of `ids` still take up storage (a record row or key, or any of its events), expired or not. */
  stored(store: ResultStore, ids: readonly string[]): Promise<number>;
}

export function newRequest(overrides: Partial<NewRequest> = {}): NewRequest {
  return { id: randomUUID(), queue: 'default', priority: 0, submittedAt: Date.now(), deadlineAt: null, ttlMs: 60_000, ...overrides };
}

export function outcome(result: unknown, overrides: Partial<Outcome> = {}): Outcome {
  return { result, statusCode: null, headers: null, processingTimeMs: 1, error: null, completedAt: Date.now(), ...overrides };
}

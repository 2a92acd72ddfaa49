/**
 * What the SQLite queue and store hand their fused pairing (shared/sqlite/fused.ts, D182): ops
 * that run inside the caller's group-commit transaction, and what to tell this process once it
 * committed. Typed here so the adapters implement them and the pairing reads them, neither
 * importing the other.
 *
 * @module
 */
import type { NewRequest, RequestRecord } from '../../../core/request/record.js';
import type { Settlement } from '../../../ports/fused.js';
import type { OutboundMessage } from '../../../ports/queue-backend.js';
import type { RecordChange, TransitionRequest, TransitionResult } from '../../../ports/result-store.js';
import type { FusionParts } from '../fusion.js';
import type { SqliteHandle } from './database.js';

/** A write inside a transaction, and what to announce after its commit. */
export interface SqliteStep {
  readonly run: () => void;
  readonly after: () => void;
}

export interface SqliteQueueFusion extends FusionParts {
  readonly technology: 'sqlite';
  readonly role: 'queue';
  readonly handle: SqliteHandle;
  readonly maxMessageBytes: number;
  assertOpen(): void;
  /** Inserts the message (as `publish`) inside the caller's transaction. */
  insert(queue: string, message: OutboundMessage): { readonly messageId: string; readonly visibleAt: number };
  /** After the commit: wakes this process's consumers of `queue` for a message visible at `visibleAt`. */
  announce(queue: string, visibleAt: number): void;
}

export interface SqliteDeliveryFusion extends FusionParts {
  readonly technology: 'sqlite';
  readonly role: 'delivery';
  /** The queue the delivery came from. */
  readonly queue: SqliteQueueFusion;
  /** The settlement as the delivery's own method would write it, by (id, lease). */
  settlement(settle: Settlement): SqliteStep;
}

export interface SqliteStoreFusion extends FusionParts {
  readonly technology: 'sqlite';
  readonly role: 'store';
  readonly handle: SqliteHandle;
  assertOpen(): void;
  /** The record `create` would make, and the insert inside the caller's transaction (throws HQM_ERR_DUPLICATE_ID). */
  creation(request: NewRequest): { readonly record: RequestRecord; readonly run: () => void };
  /** Removes a record and its trail inside the caller's transaction. */
  remove(id: string): void;
  /** The compare-and-set of `transition`, inside the caller's transaction. */
  transition(request: TransitionRequest): TransitionResult;
  /** After the commit: tells this process's change-feed listeners. */
  announce(change: RecordChange): void;
}

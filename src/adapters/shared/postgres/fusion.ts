/**
 * What the PostgreSQL queue and store hand their fused pairing (shared/postgres/fused.ts, D185):
 * their pools, channels and the store's compiled transition. Typed here so the adapters
 * implement them and the pairing reads them, neither importing the other.
 *
 * @module
 */
import type { RequestRecord } from '../../../core/request/record.js';
import type { Logger } from '../../../ports/logger.js';
import type { TransitionRequest, TransitionResult } from '../../../ports/result-store.js';
import type { FusionParts } from '../fusion.js';
import type { CompiledOutcome, CompiledTransition } from './compiled.js';
import type { PgDatabase } from './database.js';

export interface PgQueueFusion extends FusionParts {
  readonly technology: 'postgres';
  readonly role: 'queue';
  readonly db: PgDatabase;
  /** The queue's NOTIFY channel, which wakes its consumers in every process. */
  readonly channel: string;
  readonly maxMessageBytes: number;
  readonly logger: Logger;
  assertOpen(): void;
  /** After a dead-lettering: trims the queue's dead letters to their bounds (best effort, as `deadLetter` does). */
  trimDeadLetters(queue: string): Promise<void>;
}

export interface PgDeliveryFusion extends FusionParts {
  readonly technology: 'postgres';
  readonly role: 'delivery';
  /** The queue the delivery came from. */
  readonly queue: PgQueueFusion;
  /** The message row and the lease the delivery settles by. */
  readonly messageId: number;
  readonly lease: string;
}

export interface PgStoreFusion extends FusionParts {
  readonly technology: 'postgres';
  readonly role: 'store';
  readonly db: PgDatabase;
  /** The store's change-feed channel and this store's origin tag, for TRANSITION_BATCH. */
  readonly channel: string;
  readonly origin: string;
  assertOpen(): void;
  /** A transition compiled for this store (its channel and origin). */
  compiled(request: Omit<TransitionRequest, 'tenantLimit'>, now: number): CompiledTransition;
  /** What a compiled transition did, as `transition` answers it; an applied one is told to this process's listeners. */
  settled(outcome: CompiledOutcome): TransitionResult;
  /** A record created by the pairing: told to this process's listeners, as `create` does. */
  created(record: RequestRecord): void;
}

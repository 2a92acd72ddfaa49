/**
 * What the Redis queue and store hand their fused pairing (shared/redis/fused.ts, D187): the
 * shared connection, the Lua bodies of their scripts, and each write as KEYS and ARGV for those
 * bodies, with what to do with the reply. Typed here so the adapters implement them and the
 * pairing reads them, neither importing the other.
 *
 * @module
 */
import type { NewRequest, RequestRecord } from '../../../core/request/record.js';
import type { Settlement } from '../../../ports/fused.js';
import type { OutboundMessage } from '../../../ports/queue-backend.js';
import type { TransitionRequest, TransitionResult } from '../../../ports/result-store.js';
import type { FusionParts } from '../fusion.js';
import type { RedisHandle } from './client.js';

/** One call of a script body (or a plain command): its KEYS and ARGV. */
export interface RedisCall {
  readonly keys: readonly string[];
  readonly args: ReadonlyArray<string | number>;
}

export interface RedisQueueFusion extends FusionParts {
  readonly technology: 'redis';
  readonly role: 'queue';
  readonly handle: RedisHandle;
  /** The Lua bodies of the queue's scripts that a fused script runs. */
  readonly lua: { readonly schedule: string; readonly publishKeyed: string; readonly ack: string; readonly reschedule: string; readonly deadLetter: string };
  assertOpen(): void;
  /** A publish as `publish` would send it (XADD, or a script), and the reading of its reply (which also wakes this process's consumers). */
  publish(queue: string, message: OutboundMessage): RedisCall & { readonly command: 'xadd' | 'schedule' | 'publishKeyed'; published(reply: unknown): { readonly messageId: string } };
}

export interface RedisDeliveryFusion extends FusionParts {
  readonly technology: 'redis';
  readonly role: 'delivery';
  /** The queue the delivery came from. */
  readonly queue: RedisQueueFusion;
  /** The settle as the delivery's own method sends it (`sent` before sending, `reply` after). */
  settlement(settle: Settlement): RedisCall & { readonly script: 'ack' | 'reschedule' | 'deadLetter'; sent(): void; reply(reply: unknown): void };
}

export interface RedisStoreFusion extends FusionParts {
  readonly technology: 'redis';
  readonly role: 'store';
  readonly handle: RedisHandle;
  /** The Lua bodies of the store's scripts that a fused script runs. */
  readonly lua: { readonly create: string; readonly transition: string; readonly index: string };
  assertOpen(): void;
  /** A create as `create` sends it: the record, its script call and its list-index call; `created` tells this process. */
  creation(request: NewRequest): { readonly record: RequestRecord; readonly create: RedisCall; readonly index: RedisCall; readonly created: () => void };
  /** A transition as `transition` sends it, and the reading of its reply (which also moves the list index and tells this process). */
  transition(request: Omit<TransitionRequest, 'tenantLimit'>): RedisCall & { result(reply: unknown): TransitionResult };
}

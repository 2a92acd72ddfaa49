/**
 * The typed events the API and the worker emit about requests. Observability subscribes to them
 * (metrics, logs); nothing in the request path depends on a listener being there.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import type { Status } from './request/lifecycle.js';

export interface HqmEventMap {
  /** `tenant` (here and in the worker's outcome events) is the submitter's, null without authentication. */
  'request:submitted': [{ id: string; queue: string; tenant?: string | null }];
  'request:publish_failed': [{ id: string; queue: string; error: Error }];
  'delivery:received': [{ id: string; queue: string; attempt: number }];
  /** A worker claimed the request (moved it to PROCESSING); `waitMs`: since it became due (its submission). */
  'request:claimed': [{ id: string; queue: string; attempt: number; waitMs: number }];
  'request:completed': [{ id: string; queue: string; attempt: number; durationMs: number; tenant?: string | null }];
  'request:retrying': [{ id: string; queue: string; attempt: number; delayMs: number; error: Error; durationMs: number }];
  'request:failed': [{ id: string; queue: string; attempt: number; error: Error; durationMs: number; tenant?: string | null }];
  'request:timeout': [{ id: string; queue: string; attempt: number; durationMs: number; tenant?: string | null }];
  'request:released': [{ id: string; queue: string; attempt: number }];
  /** A client cancelled the request (DELETE /api/v1/requests/{id}) while it was in `from`. */
  'request:cancelled': [{ id: string; queue: string; from: Status; tenant?: string | null }];
  /** An operator replayed a dead letter: the request is PENDING again and its message published. */
  'request:replayed': [{ id: string; queue: string; tenant?: string | null }];
  /** `reason` is a bounded category (processing_failed, attempts_exhausted, invalid_message, no_record). */
  'request:dead_lettered': [{ id: string | null; queue: string; reason: DeadLetterReason }];
  'worker:busy': [{ active: number }];
  'request:deferred': [{ id: string; queue: string; attempt: number; delayMs: number; reason: string }];
  /** An upstream answered (any status). `endpoint` is a configured name (bounded). */
  'upstream:response': [{ endpoint: string; status: number; durationMs: number }];
  /** An upstream call failed without an answer; `code` is an HQM_ERR_* code. */
  'upstream:error': [{ endpoint: string; code: string; durationMs: number }];
  'circuit:changed': [{ endpoint: string; state: 'closed' | 'open' | 'half_open' }];
  'routes:reloaded': [{ path: string; routes: number }];
  'routes:rejected': [{ path: string; error: string }];
  'worker:heartbeat': [{ at: number }];
}

export type HqmEventName = keyof HqmEventMap;

export type DeadLetterReason = 'processing_failed' | 'attempts_exhausted' | 'invalid_message' | 'no_record';

export class HqmEvents extends EventEmitter<HqmEventMap> {}

/**
 * A request still PENDING past its deadline can only end in TIMEOUT; when nobody is consuming
 * the queue no worker would ever say so. Reads say so instead: the record is moved to TIMEOUT
 * (compare-and-set, so a worker that claims it meanwhile wins) before it is shown.
 *
 * @module
 */
import type { HqmEvents } from '../core/events.js';
import { DEADLINE_MESSAGE } from '../core/request/envelope.js';
import type { RequestRecord } from '../core/request/record.js';
import type { ResultStore } from '../ports/result-store.js';
import type { ApiOptions } from './context.js';

/** The move is announced as a worker's TIMEOUT is (`request:timeout`), so metrics and analytics count it. */
/** What settling needs: the store to write to, the events to tell, the queue names to tell them by. */
export interface OverdueContext {
  readonly store: ResultStore;
  readonly events: HqmEvents;
  readonly options: Pick<ApiOptions, 'queues'>;
}

export async function settleOverdue(ctx: OverdueContext, record: RequestRecord, now = Date.now()): Promise<RequestRecord> {
  if (record.status !== 'PENDING' || record.deadlineAt === null || record.deadlineAt > now) return record;
  const outcome = { result: null, statusCode: null, headers: null, processingTimeMs: null, error: DEADLINE_MESSAGE, completedAt: now };
  const moved = await ctx.store.transition({ id: record.id, from: ['PENDING'], to: 'TIMEOUT', attempt: record.attempt, error: DEADLINE_MESSAGE, outcome });
  if (moved.ok) {
    ctx.events.emit('request:timeout', { id: record.id, queue: ctx.options.queues.get(record.queue) ?? record.queue, attempt: record.attempt, durationMs: 0, tenant: record.tenant });
    return moved.record;
  }
  return moved.reason === 'conflict' ? moved.current : record;
}

/**
 * `DELETE /api/v1/requests/{id}`: cancel a request that has not finished. The move to
 * CANCELLED is a compare-and-set against the status and attempt just read, so it either lands
 * before the worker's result (which is then refused) or finds the request finished (409).
 * The worker running it hears of the cancel through the store's change feed and aborts the
 * processor's signal (worker/runner.ts).
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { HqmError } from '../../core/errors.js';
import { normalizeCorrelationId } from '../../core/request/ids.js';
import { isTerminal, type Status } from '../../core/request/lifecycle.js';
import type { Outcome, RequestRecord } from '../../core/request/record.js';
import type { ResultStore } from '../../ports/result-store.js';
import { mayView } from '../auth.js';
import type { RouteContext } from '../context.js';
import { settleOverdue } from '../overdue.js';
import { presentRequest } from '../present.js';
import { alreadyFinishedResponse, errorResponse, idParams, requestResponse } from '../schemas.js';

/** What a cancelled request's `error` says (the original's word for it). */
export const CANCELLED_MESSAGE = 'cancelled';

/**
 * A worker may move the record between our read and our write (claim, retry); each such move
 * is a real step of the request, so a handful of tries always converge unless something is
 * looping, which is then a fault to report rather than to spin on.
 */
const MAX_TRIES = 8;

export function registerCancelRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.delete<{ Params: { correlation_id: string } }>(
    '/api/v1/requests/:correlation_id',
    {
      // Cancelling changes a request: the submit role (of its own tenant) or admin, never read-only.
      config: { access: 'submit' },
      schema: {
        tags: ['requests'],
        summary: 'Cancel a request',
        description:
          'A PENDING request never runs; a PROCESSING one is CANCELLED at once and its processor\'s signal (and a proxied upstream call) is aborted. 200 with the request, now CANCELLED; 409 HQM_ERR_ALREADY_FINISHED with its `status` when it had already finished.',
        params: idParams,
        response: { 200: requestResponse, 404: errorResponse, 409: alreadyFinishedResponse },
      },
    },
    async (request, reply) => {
      const id = normalizeCorrelationId(request.params.correlation_id);
      const record = id === undefined ? undefined : await ctx.store.get(id);
      // Another tenant's request is not there, as far as this caller can tell.
      if (record === undefined || !mayView(request, record)) throw notFound();
      // An overdue PENDING request has already ended (TIMEOUT); it is too late to cancel it.
      const result = await cancel(ctx.store, await settleOverdue(ctx, record));
      if (result === undefined) throw notFound();
      if (result.kind === 'finished') {
        const error = new HqmError('HQM_ERR_ALREADY_FINISHED', `the request already finished: it is ${result.record.status}`);
        return reply.code(error.httpStatus).send({ detail: error.message, code: error.code, status: result.record.status });
      }
      const cancelled = result.record;
      // Events name the backend queue, as the worker's and the submit's do (metrics label by it).
      ctx.events.emit('request:cancelled', { id: cancelled.id, queue: ctx.options.queues.get(cancelled.queue) ?? cancelled.queue, from: result.from, tenant: cancelled.tenant });
      return presentRequest(cancelled);
    },
  );
}

type CancelResult = { readonly kind: 'cancelled'; readonly record: RequestRecord; readonly from: Status } | { readonly kind: 'finished'; readonly record: RequestRecord };

/** Moves `current` to CANCELLED unless it finished first; undefined once it is gone. */
async function cancel(store: ResultStore, current: RequestRecord): Promise<CancelResult | undefined> {
  let record = current;
  for (let tries = 0; tries < MAX_TRIES; tries += 1) {
    const from = record.status;
    if (isTerminal(from)) return { kind: 'finished', record };
    const outcome: Outcome = { result: null, statusCode: null, headers: null, processingTimeMs: null, error: CANCELLED_MESSAGE, errorCode: 'HQM_ERR_CANCELLED', completedAt: Date.now() };
    // The record's own attempt: the fence lets exactly the holder's number move a PROCESSING record.
    const moved = await store.transition({ id: record.id, from: [from], to: 'CANCELLED', attempt: record.attempt, error: CANCELLED_MESSAGE, outcome });
    if (moved.ok) return { kind: 'cancelled', record: moved.record, from };
    if (moved.reason === 'not_found') return undefined;
    record = moved.current;
  }
  throw new HqmError('HQM_ERR_INTERNAL', `could not cancel ${current.id}: its record kept changing under ${MAX_TRIES} compare-and-sets`);
}

function notFound(): HqmError {
  return new HqmError('HQM_ERR_NOT_FOUND', 'Request not found or expired');
}

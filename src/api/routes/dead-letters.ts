/**
 * Dead letters as a product (admin only: a dead letter holds any tenant's whole request):
 *
 * - `GET    /api/v1/dead-letters?queue=&limit=&cursor=`  newest first, a page at a time
 * - `GET    /api/v1/dead-letters/{id}`                   one, with the request it carries
 * - `POST   /api/v1/dead-letters/{id}/replay`            the same request again (dead-letters/replay.ts)
 * - `DELETE /api/v1/dead-letters/{id}`                   forget one
 * - `DELETE /api/v1/dead-letters?queue=&before=`         purge those older than a time
 *
 * @module
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { HqmError, isHqmError, ValidationError } from '../../core/errors.js';
import type { RouteContext } from '../context.js';
import { parseId, parseLimit, parseTime, queueOf, type DeadLetterRef } from '../dead-letters/ids.js';
import { deadLetterNotFound, replayDeadLetter, type Replacement } from '../dead-letters/replay.js';
import { deadLetterDetail, deadLetterListQuery, deadLetterPage, deadLetterParams, deadLetterPurgeQuery, purged, replayBody } from '../dead-letters/schemas.js';
import { join, presentDeadLetter, presentDeadLetterDetail } from '../dead-letters/view.js';
import { alreadyFinishedResponse, errorResponse, submitAccepted } from '../schemas.js';
import { schemaIssues } from '../schema-issues.js';
import { validateSubmit } from '../validate.js';
import { spanOf } from '../tracing.js';

const TAGS = ['dead letters'];
/** Admin only, declared here rather than left to the default of unlisted routes. */
const ADMIN = { access: 'admin' } as const;

export function registerDeadLetterRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const queues = ctx.options.queues;
  const logicalQueues = new Set(queues.keys());
  /** A backend whose dead letters are read-only (Kafka, D265) refuses before anything moves in the store. */
  const assertManaged = (): void => {
    if (!ctx.queue.capabilities.deadLetterBrowsing) {
      throw new HqmError('HQM_ERR_UNSUPPORTED', `the ${ctx.queue.type} queue keeps dead letters as records it cannot remove or replay one by one; they can be listed and read`);
    }
  };
  const refOf = (raw: string): DeadLetterRef => {
    const ref = parseId(raw, queues);
    if (ref === undefined) throw deadLetterNotFound();
    return ref;
  };

  app.get<{ Querystring: { queue?: string; limit?: string; cursor?: string } }>(
    '/api/v1/dead-letters',
    {
      config: ADMIN,
      schema: {
        tags: TAGS,
        summary: 'List dead letters, newest first',
        description: 'A page of a queue\'s dead letters with why each failed: reason, error code, attempts, each attempt\'s error, the last upstream status. Follow `next_cursor` for older ones.',
        querystring: deadLetterListQuery,
        response: { 200: deadLetterPage, 422: errorResponse },
      },
    },
    async (request) => {
      const { queue, backendQueue } = queueOf(request.query.queue, queues);
      const limit = parseLimit(request.query.limit);
      const cursor = request.query.cursor;
      const page = await ctx.queue.browseDeadLetters(backendQueue, { limit, ...(cursor === undefined || cursor === '' ? {} : { before: cursor }) }).catch((error: unknown) => {
        if (isHqmError(error) && error.code === 'HQM_ERR_VALIDATION') throw new ValidationError([{ path: 'query.cursor', message: 'is not a cursor this list gave' }]);
        throw error;
      });
      const joined = await Promise.all(page.letters.map((letter) => join(ctx.store, letter)));
      return { queue, dead_letters: joined.map((j) => presentDeadLetter(queue, j)), next_cursor: page.next };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/dead-letters/:id',
    {
      config: ADMIN,
      schema: {
        tags: TAGS,
        summary: 'One dead letter, with the request it carries',
        description: 'Header values are withheld (they may be credentials); their names are listed.',
        params: deadLetterParams,
        response: { 200: deadLetterDetail, 404: errorResponse },
      },
    },
    async (request) => {
      const ref = refOf(request.params.id);
      const letter = await ctx.queue.getDeadLetter(ref.backendQueue, ref.id);
      if (letter === undefined) throw deadLetterNotFound();
      return presentDeadLetterDetail(ref.queue, await join(ctx.store, letter));
    },
  );

  app.post<{ Params: { id: string }; Body: Replacement | null }>(
    '/api/v1/dead-letters/:id/replay',
    {
      config: ADMIN,
      attachValidation: true,
      schema: {
        tags: TAGS,
        summary: 'Replay a dead letter',
        description:
          'Puts the same correlation id back to PENDING with a fresh attempt budget and deadline, queues its message again and removes the dead letter. ' +
          'An optional body `{payload?, headers?, metadata?}` replaces those of the request (checked as a submit\'s); what is absent is kept. ' +
          'A request whose record expired is recreated. 202 as a submit; 409 HQM_ERR_NOT_REPLAYABLE when its request is no longer FAILED or TIMEOUT (with its `status`) or the message is not an OpenHQM request; 409 HQM_ERR_UNSUPPORTED when the queue backend cannot replay one dead letter (kafka, azure_eventhubs).',
        params: deadLetterParams,
        body: replayBody,
        response: { 202: submitAccepted, 404: errorResponse, 409: alreadyFinishedResponse, 413: errorResponse, 422: errorResponse, 503: errorResponse },
      },
    },
    async (request, reply) => {
      assertManaged();
      const ref = refOf(request.params.id);
      const body = request.body ?? {};
      // The schema's own issues and the submit's range checks in one 422.
      validateSubmit({ payload: {}, ...body }, logicalQueues, ctx.options.endpoints, schemaIssues(request.validationError) ?? []);
      try {
        const record = await replayDeadLetter(ctx, ref, body, (traceparent) => spanOf(request)?.link(traceparent));
        request.log.info({ correlation_id: record.id, dead_letter: request.params.id }, 'dead letter replayed');
        return await reply
          .code(202)
          .header('location', `${ctx.options.capture.controlPrefix}/api/v1/requests/${record.id}`)
          .header('retry-after', String(ctx.options.capture.retryAfterSeconds))
          .send({ correlation_id: record.id, status: record.status, submitted_at: new Date(record.submittedAt).toISOString() });
      } catch (error) {
        return sendWithStatus(reply, error);
      }
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/dead-letters/:id',
    {
      config: ADMIN,
      schema: {
        tags: TAGS,
        summary: 'Remove one dead letter',
        description: '409 HQM_ERR_UNSUPPORTED when the queue backend cannot remove one dead letter (kafka, azure_eventhubs).',
        params: deadLetterParams,
        response: { 204: { type: 'null' }, 404: errorResponse, 409: errorResponse },
      },
    },
    async (request, reply) => {
      assertManaged();
      const ref = refOf(request.params.id);
      if (!(await ctx.queue.removeDeadLetter(ref.backendQueue, ref.id))) throw deadLetterNotFound();
      return reply.code(204).send();
    },
  );

  app.delete<{ Querystring: { queue?: string; before: string } }>(
    '/api/v1/dead-letters',
    {
      config: ADMIN,
      attachValidation: true,
      schema: {
        tags: TAGS,
        summary: 'Purge dead letters older than a time',
        description: 'Removes a queue\'s dead letters dead-lettered before `before` (ISO 8601, required: a time in the future removes them all). 409 HQM_ERR_UNSUPPORTED when the queue backend cannot remove dead letters (kafka, azure_eventhubs).',
        querystring: deadLetterPurgeQuery,
        response: { 200: purged, 409: errorResponse, 422: errorResponse },
      },
    },
    async (request) => {
      const issues = schemaIssues(request.validationError);
      if (issues !== undefined && issues.length > 0) throw new ValidationError(issues);
      assertManaged();
      const { queue, backendQueue } = queueOf(request.query.queue, queues);
      const before = parseTime(request.query.before, 'query.before');
      return { queue, purged: await ctx.queue.purgeDeadLetters(backendQueue, before) };
    },
  );
}

/** A replay refused for its request's status says which status, as a cancel too late does. */
function sendWithStatus(reply: FastifyReply, error: unknown): never | FastifyReply {
  const status = isHqmError(error) && error.code === 'HQM_ERR_NOT_REPLAYABLE' ? error.details?.status : undefined;
  if (!isHqmError(error) || typeof status !== 'string') throw error;
  return reply.code(error.httpStatus).send({ detail: error.message, code: error.code, status });
}

/**
 * Reading a request: status, response (with `?wait=N` long-polling), the upstream answer
 * verbatim (`/body`), and the audit trail. An id is matched case-insensitively (UUIDs are).
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HqmError } from '../../core/errors.js';
import { normalizeCorrelationId } from '../../core/request/ids.js';
import { isTerminal } from '../../core/request/lifecycle.js';
import type { RequestRecord } from '../../core/request/record.js';
import { waitForTerminal } from '../accept.js';
import { mayView } from '../auth.js';
import type { RouteContext } from '../context.js';
import { settleOverdue } from '../overdue.js';
import { presentEvents, presentRequest, presentResult, presentStatus, requestHttpStatus } from '../present.js';
import { sendUpstreamAnswer } from '../replay.js';
import { errorResponse, eventsResponse, idParams, requestOrErrorResponse, requestResponse, resultResponse, statusResponse, waitQuery } from '../schemas.js';
import { parseWait } from '../validate.js';
import { EVENT_STREAM_DESCRIPTION, eventsOrStream, eventStreamHeaders, noMoreEvents } from '../streams/schemas.js';
import { resumePoint, streamTrail, wantsEventStream } from '../streams/sse.js';

type IdRequest = FastifyRequest<{ Params: { correlation_id: string }; Querystring: { wait?: string } }>;

export function registerReadRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get<{ Params: { correlation_id: string } }>(
    '/api/v1/status/:correlation_id',
    { schema: { tags: ['requests'], summary: 'Current status of a request', params: idParams, response: { 200: statusResponse, 404: errorResponse } } },
    async (request) => {
      const id = normalizeCorrelationId(request.params.correlation_id);
      const record = id === undefined ? undefined : await ctx.store.get(id);
      // Another tenant's request is not there, as far as this caller can tell (nor settled by its read).
      if (record === undefined || !mayView(request, record)) throw notFound();
      return presentStatus(await settleOverdue(ctx, record));
    },
  );

  const read = async (request: IdRequest, reply: FastifyReply) => {
    const waitSeconds = parseWait(request.query.wait, ctx.options.maxWaitSeconds);
    const id = normalizeCorrelationId(request.params.correlation_id);
    if (id === undefined) throw notFound();
    // A tenant may not even wait on another's request: when it finishes would tell that it exists.
    if (waitSeconds > 0 && request.principal !== null) await visibleRecord(request, id);
    // waitForTerminal settles an overdue request itself.
    const record =
      waitSeconds > 0 ? await waitForTerminal(ctx, id, waitSeconds * 1000, reply) : await visibleRecord(request, id).then((r) => settleOverdue(ctx, r));
    if (record === undefined || !mayView(request, record)) throw notFound();
    return record;
  };

  const visibleRecord = async (request: FastifyRequest, id: string): Promise<RequestRecord> => {
    const record = await ctx.store.get(id);
    if (record === undefined || !mayView(request, record)) throw notFound();
    return record;
  };

  app.get(
    '/api/v1/response/:correlation_id',
    {
      schema: {
        tags: ['requests'],
        summary: 'Result of a request',
        description: '200 with the result once the request finished (COMPLETED, or FAILED/TIMEOUT/CANCELLED with `error`); 202 while it is pending. ?wait=N long-polls up to N seconds.',
        params: idParams,
        querystring: waitQuery,
        response: { 200: resultResponse, 202: resultResponse, 404: errorResponse, 422: errorResponse },
      },
    },
    async (request: IdRequest, reply: FastifyReply) => {
      const record = await read(request, reply);
      if (!isTerminal(record.status)) reply.code(202).header('retry-after', '1');
      return presentResult(record);
    },
  );

  app.get(
    '/api/v1/requests/:correlation_id',
    {
      config: { access: 'read' },
      schema: {
        tags: ['requests'],
        summary: 'The request resource, whose HTTP status follows its state',
        description:
          'Where `Location` points after a submit. The body is status and result together; the HTTP status tells a client that follows only HTTP semantics (an LRO poller) how it ended: 202 with Retry-After while pending, 200 when COMPLETED, and when it FAILED, timed out or was cancelled the status of its `error_code` (docs/errors.md): 502 or 4xx for FAILED, 504 for TIMEOUT, 409 for CANCELLED. ?wait=N long-polls up to N seconds.',
        params: idParams,
        querystring: waitQuery,
        response: { 200: requestResponse, 202: requestResponse, 404: errorResponse, '4xx': requestOrErrorResponse, '5xx': requestOrErrorResponse },
      },
    },
    async (request: IdRequest, reply: FastifyReply) => {
      const record = await read(request, reply);
      if (!isTerminal(record.status)) reply.header('retry-after', '1');
      return reply.code(requestHttpStatus(record)).send(presentRequest(record));
    },
  );

  app.get(
    '/api/v1/response/:correlation_id/body',
    {
      schema: {
        tags: ['requests'],
        summary: 'The upstream answer, verbatim',
        description: 'Once the request finished: the status, headers and body the upstream answered (byte for byte for captured requests). 202 while pending; 502/504 when it failed without an answer.',
        params: idParams,
        querystring: waitQuery,
      },
    },
    async (request: IdRequest, reply: FastifyReply) => {
      const record = await read(request, reply);
      if (!isTerminal(record.status)) return reply.code(202).header('retry-after', '1').send(presentResult(record));
      return sendUpstreamAnswer(reply, record);
    },
  );

  app.get<{ Params: { correlation_id: string } }>(
    '/api/v1/requests/:correlation_id/events',
    {
      schema: {
        tags: ['requests'],
        summary: 'Audit trail: every status change of a request, and notes (webhook attempts, follow-ups); JSON, or a live Server-Sent Events stream',
        description: EVENT_STREAM_DESCRIPTION,
        params: idParams,
        headers: eventStreamHeaders,
        response: { 200: eventsOrStream(eventsResponse), 204: noMoreEvents, 404: errorResponse, 422: errorResponse, 503: errorResponse },
      },
    },
    async (request, reply) => {
      const id = normalizeCorrelationId(request.params.correlation_id);
      if (id === undefined) throw notFound();
      // Found and visible before anything is streamed: another tenant's id is a plain 404.
      if (wantsEventStream(request)) return streamEvents(request, reply, id);
      // An overdue PENDING request is settled first, so the trail ends in its TIMEOUT.
      const record = await ctx.store.get(id);
      if (record === undefined ? request.principal !== null : !mayView(request, record)) throw notFound();
      if (record !== undefined) await settleOverdue(ctx, record);
      const events = await ctx.store.events(id);
      if (events.length === 0) throw notFound();
      return presentEvents(id, events);
    },
  );

  /** The live trail: 404 exactly as the JSON trail answers it, 204 once the client has seen the result. */
  const streamEvents = async (request: FastifyRequest, reply: FastifyReply, id: string): Promise<FastifyReply> => {
    const resume = resumePoint(request);
    await visibleRecord(request, id);
    if (resume === 'done') return reply.code(204).send();
    streamTrail(ctx, reply, id, resume);
    return reply;
  };
}

function notFound(): HqmError {
  return new HqmError('HQM_ERR_NOT_FOUND', 'Request not found or expired');
}

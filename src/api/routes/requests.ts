/**
 * The request endpoints of the v1 contract: submit, status, response (with `?wait=N`
 * long-polling) and the audit trail.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HqmError, isHqmError } from '../../core/errors.js';
import { encodeEnvelope, ENVELOPE_VERSION, normalizeMetadata, type Envelope } from '../../core/request/envelope.js';
import { isCorrelationId, newCorrelationId } from '../../core/request/ids.js';
import { isTerminal } from '../../core/request/lifecycle.js';
import type { RequestRecord } from '../../core/request/record.js';
import type { RouteContext } from '../context.js';
import { presentEvents, presentResult, presentStatus } from '../present.js';
import { errorResponse, eventsResponse, idParams, resultResponse, statusResponse, submitAccepted, submitBody, waitQuery } from '../schemas.js';
import { parseWait, validateSubmit, type SubmitBody } from '../validate.js';

type IdRequest = FastifyRequest<{ Params: { correlation_id: string }; Querystring: { wait?: string } }>;

const NOT_FOUND = 'Request not found or expired';

export function registerRequestRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const logicalQueues = new Set(ctx.options.queues.keys());

  app.post<{ Body: SubmitBody; Querystring: { wait?: string } }>(
    '/api/v1/submit',
    {
      schema: {
        tags: ['requests'],
        summary: 'Submit a request for asynchronous processing',
        description: 'Answers 202 with a correlation id once the request is durably queued. With ?wait=N, waits up to N seconds and answers 200 with the result if it finished.',
        body: submitBody,
        querystring: waitQuery,
        response: { 200: resultResponse, 202: submitAccepted, 413: errorResponse, 422: errorResponse, 503: errorResponse },
      },
    },
    async (request, reply) => {
      const body = request.body;
      validateSubmit(body, logicalQueues);
      const waitSeconds = parseWait(request.query.wait, ctx.options.maxWaitSeconds);
      const record = await submit(ctx, body, request.headers.traceparent);
      if (waitSeconds > 0) {
        const finished = await waitForTerminal(ctx, record.id, waitSeconds * 1000, request);
        if (finished !== undefined && isTerminal(finished.status)) return reply.code(200).send(presentResult(finished));
      }
      return reply
        .code(202)
        .header('location', `/api/v1/response/${record.id}`)
        .send({ correlation_id: record.id, status: record.status, submitted_at: new Date(record.submittedAt).toISOString() });
    },
  );

  app.get<{ Params: { correlation_id: string } }>(
    '/api/v1/status/:correlation_id',
    { schema: { tags: ['requests'], summary: 'Current status of a request', params: idParams, response: { 200: statusResponse, 404: errorResponse } } },
    async (request) => presentStatus(await findOrThrow(ctx, request.params.correlation_id)),
  );

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
      const waitSeconds = parseWait(request.query.wait, ctx.options.maxWaitSeconds);
      const id = request.params.correlation_id;
      if (!isCorrelationId(id)) throw notFound();
      const record = waitSeconds > 0 ? await waitForTerminal(ctx, id, waitSeconds * 1000, request) : await ctx.store.get(id);
      if (record === undefined) throw notFound();
      if (!isTerminal(record.status)) reply.code(202).header('retry-after', '1');
      return presentResult(record);
    },
  );

  app.get<{ Params: { correlation_id: string } }>(
    '/api/v1/requests/:correlation_id/events',
    {
      schema: { tags: ['requests'], summary: 'Audit trail: every status change of a request', params: idParams, response: { 200: eventsResponse, 404: errorResponse } },
    },
    async (request) => {
      const id = request.params.correlation_id;
      if (!isCorrelationId(id)) throw notFound();
      const events = await ctx.store.events(id);
      if (events.length === 0) throw notFound();
      return presentEvents(id, events);
    },
  );
}

async function submit(ctx: RouteContext, body: SubmitBody, traceparent: string | string[] | undefined): Promise<RequestRecord> {
  const { store, queue, events, options } = ctx;
  const now = Date.now();
  const id = newCorrelationId();
  const metadata = normalizeMetadata(body.metadata ?? {}, { timeout: options.defaultTimeoutSeconds });
  const envelope: Envelope = {
    v: ENVELOPE_VERSION,
    correlation_id: id,
    timestamp: new Date(now).toISOString(),
    payload: body.payload,
    headers: body.headers ?? {},
    metadata,
    request: null,
    traceparent: typeof traceparent === 'string' ? traceparent : null,
  };
  const message = { body: encodeEnvelope(envelope), priority: metadata.priority, partitionKey: metadata.partition_key };
  const max = queue.capabilities.maxMessageBytes;
  if (message.body.length * 3 > max && Buffer.byteLength(message.body) > max) {
    throw new HqmError('HQM_ERR_BODY_TOO_LARGE', `the request is larger than the ${queue.type} queue accepts (${queue.capabilities.maxMessageBytes} bytes)`);
  }
  const backendQueue = options.queues.get(metadata.queue) as string;
  // Both writes start in the same tick: on a shared SQLite file they land in one transaction,
  // and elsewhere the two round trips overlap. A worker that sees the message before the
  // record waits for it (see worker/attempt.ts), so the order between them does not matter.
  const [created, published] = await Promise.allSettled([
    store.create({ id, queue: metadata.queue, priority: metadata.priority, submittedAt: now, deadlineAt: now + metadata.timeout * 1000, ttlMs: options.ttlMs }),
    queue.publish(backendQueue, message),
  ]);
  if (published.status === 'rejected') {
    const error: unknown = published.reason;
    events.emit('request:publish_failed', { id, queue: backendQueue, error: error as Error });
    // Nothing half-written: the record goes too, and the client hears 503 (or 413), not 202.
    if (created.status === 'fulfilled') await store.delete(id).catch(() => undefined);
    throw isHqmError(error) && error.code === 'HQM_ERR_BODY_TOO_LARGE' ? error : unavailable(error, 'the queue');
  }
  // A message without its record is dropped by the worker once its grace period has passed.
  if (created.status === 'rejected') throw unavailable(created.reason, 'the result store');
  events.emit('request:submitted', { id, queue: backendQueue });
  return created.value;
}

async function findOrThrow(ctx: RouteContext, id: string): Promise<RequestRecord> {
  if (!isCorrelationId(id)) throw notFound();
  const record = await ctx.store.get(id);
  if (record === undefined) throw notFound();
  return record;
}

/** Reads the record, waiting up to `ms` for it to finish. Undefined when it does not exist. */
async function waitForTerminal(ctx: RouteContext, id: string, ms: number, request: FastifyRequest): Promise<RequestRecord | undefined> {
  const ticket = ctx.waiters.register(id, ms);
  const onClose = (): void => ticket.cancel();
  request.raw.once('close', onClose);
  try {
    const first = await ctx.store.get(id);
    if (first === undefined || isTerminal(first.status) || ctx.closing()) return first;
    await ticket.settled;
    return await ctx.store.get(id);
  } finally {
    ticket.cancel();
    request.raw.off('close', onClose);
  }
}

function notFound(): HqmError {
  return new HqmError('HQM_ERR_NOT_FOUND', NOT_FOUND);
}

function unavailable(error: unknown, what: string): HqmError {
  if (isHqmError(error)) return error;
  return new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', `${what} is unavailable; nothing was stored, try again`, { cause: error });
}

/** `POST /api/v1/submit` (and its `?wait=N` sync mode). */
import type { FastifyInstance } from 'fastify';
import { builtinSleepIssue } from '../../core/builtin-sleep.js';
import { ValidationError } from '../../core/errors.js';
import { isoTime } from '../../core/iso-time.js';
import { isTerminal } from '../../core/request/lifecycle.js';
import { accept, waitForSubmitted, waitForTerminal } from '../accept.js';
import { tenantOf } from '../auth.js';
import type { RouteContext } from '../context.js';
import { requestForwarding } from '../forwarding.js';
import { DEFAULT_MAX_DELAY_SECONDS, delayIssues } from '../delay.js';
import { claimOrReplay, idempotencyOf, releasingOnFailure } from '../idempotency.js';
import { newCorrelationId } from '../../core/request/ids.js';
import { presentResult } from '../present.js';
import { errorResponse, idempotencyHeader, resultResponse, submitAccepted, submitBody, waitQuery } from '../schemas.js';
import type { RequestRecord } from '../../core/request/record.js';
import { schemaIssues } from '../schema-issues.js';
import { traceparentOf } from '../tracing.js';
import { assertCallback, parseWait, validateSubmit, type SubmitBody } from '../validate.js';

export function registerSubmitRoute(app: FastifyInstance, ctx: RouteContext): void {
  const logicalQueues = new Set(ctx.options.queues.keys());
  const delayRules = { maxDelaySeconds: ctx.options.maxDelaySeconds ?? DEFAULT_MAX_DELAY_SECONDS, queue: ctx.queue };
  app.post<{ Body: SubmitBody; Querystring: { wait?: string } }>(
    '/api/v1/submit',
    {
      // Schema problems are merged with the range checks below, so one 422 names them all.
      attachValidation: true,
      schema: {
        tags: ['requests'],
        summary: 'Submit a request for asynchronous processing',
        description:
          'Answers 202 with a correlation id once the request is durably queued. With ?wait=N, waits up to N seconds and answers 200 with the result if it finished. ' +
          'With an Idempotency-Key header, a repeat of the same body with the same key (same tenant, within api.idempotency_ttl_seconds) answers the first request again, with Idempotent-Replayed: true; a different body with that key is 422, and a repeat while the first is still being stored is 409.',
        headers: idempotencyHeader,
        body: submitBody,
        querystring: waitQuery,
        response: { 200: resultResponse, 202: submitAccepted, 400: errorResponse, 409: errorResponse, 413: errorResponse, 415: errorResponse, 422: errorResponse, 503: errorResponse },
      },
    },
    async (request, reply) => {
      const body = request.body;
      validateSubmit(body, logicalQueues, ctx.options.endpoints, [...(schemaIssues(request.validationError) ?? []), ...delayIssues(body, Date.now(), delayRules)]);
      assertCallback(body.metadata, ctx.options.webhooks);
      const sleepMax = ctx.options.builtinSleepMaxSeconds;
      const sleepIssue = sleepMax === undefined ? undefined : builtinSleepIssue(body.payload, sleepMax);
      if (sleepIssue !== undefined) throw new ValidationError([{ ...sleepIssue, path: `body.${sleepIssue.path}` }]);
      const waitSeconds = parseWait(request.query.wait, ctx.options.maxWaitSeconds);
      const idem = idempotencyOf(request, 'submit', body);
      const id = newCorrelationId(Date.now());
      const claim = idem === undefined ? undefined : await claimOrReplay(ctx, idem, [id], ctx.options.idempotencyTtlMs ?? ctx.options.ttlMs, reply);
      const replayed = claim?.replayed === true ? (claim.records[0] as RequestRecord) : undefined;
      // Taken before the record is written, so its completion cannot slip by unseen (and the
      // record need not be read back before the wait).
      const ticket = waitSeconds > 0 && replayed === undefined ? ctx.waiters.register(id, waitSeconds * 1000) : undefined;
      let record: RequestRecord;
      try {
        record =
          replayed ??
          (await releasingOnFailure(ctx, idem, id, () =>
            accept(ctx, {
              id,
              payload: body.payload,
              headers: body.headers ?? {},
              metadata: body.metadata ?? {},
              request: null,
              traceparent: traceparentOf(request),
              forwarding: requestForwarding(request, ctx.trust),
              tenant: tenantOf(request),
            }),
          ));
      } catch (error) {
        ticket?.cancel();
        throw error;
      }
      // After a wait that ran out, the 202 tells the status the request has now (PROCESSING, say).
      const waitMs = waitSeconds * 1000;
      const waited =
        waitSeconds === 0 ? record : replayed === undefined ? await waitForSubmitted(ctx, record, ticket, waitMs, reply) : isTerminal(record.status) ? record : await waitForTerminal(ctx, record.id, waitMs, reply);
      const current = waited ?? record;
      if (isTerminal(current.status)) return reply.code(200).send(presentResult(current));
      // The asynchronous request-reply pattern, as a captured request's 202: where and when to look.
      return reply
        .code(202)
        .header('location', `${ctx.options.capture.controlPrefix}/api/v1/requests/${record.id}`)
        .header('retry-after', String(ctx.options.capture.retryAfterSeconds))
        .send({ correlation_id: record.id, status: current.status, submitted_at: isoTime(record.submittedAt) });
    },
  );
}

/** `POST /api/v1/submit` (and its `?wait=N` sync mode). */
import type { FastifyInstance } from 'fastify';
import { builtinSleepIssue } from '../../core/builtin-sleep.js';
import { ValidationError } from '../../core/errors.js';
import { isTerminal } from '../../core/request/lifecycle.js';
import { accept, waitForTerminal } from '../accept.js';
import { tenantOf } from '../auth.js';
import type { RouteContext } from '../context.js';
import { flatHeaders, forwardingOf } from '../forwarding.js';
import { presentResult } from '../present.js';
import { errorResponse, resultResponse, submitAccepted, submitBody, waitQuery } from '../schemas.js';
import { schemaIssues } from '../schema-issues.js';
import { parseWait, validateSubmit, type SubmitBody } from '../validate.js';

export function registerSubmitRoute(app: FastifyInstance, ctx: RouteContext): void {
  const logicalQueues = new Set(ctx.options.queues.keys());
  app.post<{ Body: SubmitBody; Querystring: { wait?: string } }>(
    '/api/v1/submit',
    {
      // Schema problems are merged with the range checks below, so one 422 names them all.
      attachValidation: true,
      schema: {
        tags: ['requests'],
        summary: 'Submit a request for asynchronous processing',
        description: 'Answers 202 with a correlation id once the request is durably queued. With ?wait=N, waits up to N seconds and answers 200 with the result if it finished.',
        body: submitBody,
        querystring: waitQuery,
        response: { 200: resultResponse, 202: submitAccepted, 400: errorResponse, 413: errorResponse, 415: errorResponse, 422: errorResponse, 503: errorResponse },
      },
    },
    async (request, reply) => {
      const body = request.body;
      validateSubmit(body, logicalQueues, ctx.options.endpoints, schemaIssues(request.validationError) ?? []);
      const sleepMax = ctx.options.builtinSleepMaxSeconds;
      const sleepIssue = sleepMax === undefined ? undefined : builtinSleepIssue(body.payload, sleepMax);
      if (sleepIssue !== undefined) throw new ValidationError([{ ...sleepIssue, path: `body.${sleepIssue.path}` }]);
      const waitSeconds = parseWait(request.query.wait, ctx.options.maxWaitSeconds);
      const traceparent = request.headers.traceparent;
      const record = await accept(ctx, {
        payload: body.payload,
        headers: body.headers ?? {},
        metadata: body.metadata ?? {},
        request: null,
        traceparent: typeof traceparent === 'string' ? traceparent : null,
        forwarding: forwardingOf(request, flatHeaders(request), ctx.trust),
        tenant: tenantOf(request),
      });
      // After a wait that ran out, the 202 tells the status the request has now (PROCESSING, say).
      const current = waitSeconds > 0 ? ((await waitForTerminal(ctx, record.id, waitSeconds * 1000, reply)) ?? record) : record;
      if (isTerminal(current.status)) return reply.code(200).send(presentResult(current));
      // The asynchronous request-reply pattern, as a captured request's 202: where and when to look.
      return reply
        .code(202)
        .header('location', `${ctx.options.capture.controlPrefix}/api/v1/requests/${record.id}`)
        .header('retry-after', String(ctx.options.capture.retryAfterSeconds))
        .send({ correlation_id: record.id, status: current.status, submitted_at: new Date(record.submittedAt).toISOString() });
    },
  );
}

/**
 * `POST /api/v1/submit/batch`: many requests in one call. Every item is checked before any is
 * stored, so a bad item stores nothing; then all are accepted in one event-loop turn, which on
 * SQLite puts every record and message into one group-commit transaction (the group commit
 * flushes what one turn queued, on setImmediate) and elsewhere overlaps the round trips. Should
 * any item fail to store, the others are withdrawn and deleted again and the client hears 503:
 * never half a batch. The one exception is an item a worker took before the failure was known
 * (its sibling's publish timed out, say): it runs, so it is left alone and the 503 names it in
 * `running` rather than pretend it will not run (D176).
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { builtinSleepIssue } from '../../core/builtin-sleep.js';
import { isoTime } from '../../core/iso-time.js';
import { HqmError, ValidationError, type FieldIssue } from '../../core/errors.js';
import { newCorrelationId } from '../../core/request/ids.js';
import type { RequestRecord } from '../../core/request/record.js';
import { accept, withdrawn } from '../accept.js';
import { tenantOf } from '../auth.js';
import type { RouteContext } from '../context.js';
import { requestForwarding } from '../forwarding.js';
import { DEFAULT_MAX_DELAY_SECONDS, delayIssues } from '../delay.js';
import { claimOrReplay, idempotencyOf, releasingOnFailure } from '../idempotency.js';
import { sendError } from '../error-handler.js';
import { errorResponse, idempotencyHeader, submitAccepted, submitBody } from '../schemas.js';
import { schemaIssues } from '../schema-issues.js';
import { traceparentOf } from '../tracing.js';
import { assertCallback, validateSubmit, type SubmitBody } from '../validate.js';

const DEFAULT_MAX_BATCH = 1000;
const DEFAULT_MAX_BATCH_BODY_BYTES = 16 * 1024 * 1024;
const MAX_ISSUES = 50;

interface BatchBody {
  readonly requests: readonly SubmitBody[];
}

/** The refusal of a batch that could not be undone whole: some of its items already run. */
class PartlyRunning extends Error {
  constructor(
    readonly error: HqmError,
    readonly running: readonly string[],
  ) {
    super(error.message, { cause: error });
  }
}

const batchRefused = {
  ...errorResponse,
  properties: {
    ...errorResponse.properties,
    running: {
      type: 'array',
      items: { type: 'string' },
      description: 'Present only when some items could not be withdrawn because a worker had already taken them: their correlation ids. They run to the end; every other item of the batch never runs. Resubmit the others only.',
    },
  },
} as const;

export function registerBatchRoute(app: FastifyInstance, ctx: RouteContext): void {
  const logicalQueues = new Set(ctx.options.queues.keys());
  const delayRules = { maxDelaySeconds: ctx.options.maxDelaySeconds ?? DEFAULT_MAX_DELAY_SECONDS, queue: ctx.queue };
  const maxBatch = ctx.options.maxBatch ?? DEFAULT_MAX_BATCH;
  const prefix = ctx.options.capture.controlPrefix;
  app.post<{ Body: BatchBody }>(
    '/api/v1/submit/batch',
    {
      config: { access: 'submit' },
      bodyLimit: ctx.options.maxBatchBodyBytes ?? DEFAULT_MAX_BATCH_BODY_BYTES,
      attachValidation: true,
      schema: {
        tags: ['requests'],
        summary: 'Submit many requests at once',
        description: `Up to api.max_batch requests (${maxBatch} here). Every item is validated first: any bad item is a 422 naming each (body.requests.<index>.<field>) and nothing is stored. Otherwise all are stored together and the answer lists them in order. Idempotency-Key works as on a single submit.`,
        headers: idempotencyHeader,
        body: {
          type: 'object',
          required: ['requests'],
          properties: { requests: { type: 'array', items: submitBody } },
        },
        response: {
          202: {
            type: 'object',
            properties: {
              requests: {
                type: 'array',
                items: { ...submitAccepted, properties: { ...submitAccepted.properties, location: { type: 'string', description: 'Where to read this request\'s result' } } },
              },
            },
          },
          400: errorResponse,
          409: errorResponse,
          413: batchRefused,
          415: errorResponse,
          422: errorResponse,
          503: batchRefused,
        },
      },
    },
    async (request, reply) => {
      const items = validateBatch(request.body, schemaIssues(request.validationError) ?? [], maxBatch, (item) => {
        validateSubmit(item, logicalQueues, ctx.options.endpoints, delayIssues(item, Date.now(), delayRules));
        assertCallback(item.metadata, ctx.options.webhooks);
        const sleepMax = ctx.options.builtinSleepMaxSeconds;
        const sleepIssue = sleepMax === undefined ? undefined : builtinSleepIssue(item.payload, sleepMax);
        if (sleepIssue !== undefined) throw new ValidationError([{ ...sleepIssue, path: `body.${sleepIssue.path}` }]);
      });
      const now = Date.now();
      const ids = items.map(() => newCorrelationId(now));
      const idem = idempotencyOf(request, 'batch', request.body);
      const claim = idem === undefined ? undefined : await claimOrReplay(ctx, idem, ids, ctx.options.idempotencyTtlMs ?? ctx.options.ttlMs, reply);
      let records: readonly RequestRecord[];
      try {
        records = claim?.replayed === true ? claim.records : await releasingOnFailure(ctx, idem, ids[0] as string, () => acceptAll(ctx, items, ids, request));
      } catch (error) {
        if (error instanceof PartlyRunning) return sendError(reply, error.error, { running: error.running });
        throw error;
      }
      return reply.code(202).send({
        requests: records.map((r) => ({ correlation_id: r.id, status: r.status, submitted_at: isoTime(r.submittedAt), location: `${prefix}/api/v1/requests/${r.id}` })),
      });
    },
  );
}

/** Every bad item, named by its index; the items when all are good. */
function validateBatch(body: BatchBody, schema: readonly FieldIssue[], maxBatch: number, check: (item: SubmitBody) => void): readonly SubmitBody[] {
  const issues: FieldIssue[] = [...schema];
  const items: readonly SubmitBody[] = Array.isArray(body?.requests) ? body.requests : [];
  if (Array.isArray(body?.requests) && items.length === 0) issues.push({ path: 'body.requests', message: 'must hold at least one request' });
  if (items.length > maxBatch) throw new ValidationError([{ path: 'body.requests', message: `at most ${maxBatch} requests per batch (api.max_batch); got ${items.length}` }]);
  const flagged = new Set(schema.map((issue) => issue.path.split('.').slice(0, 3).join('.')));
  items.forEach((item, i) => {
    // An item the schema already refused gets no second, range-check message.
    if (flagged.has(`body.requests.${i}`)) return;
    try {
      check(item);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      for (const issue of error.issues) issues.push({ ...issue, path: issue.path.replace(/^body(\.|$)/, `body.requests.${i}$1`) });
    }
  });
  if (issues.length > 0) throw new ValidationError(issues.slice(0, MAX_ISSUES));
  return items;
}

async function acceptAll(ctx: RouteContext, items: readonly SubmitBody[], ids: readonly string[], request: Parameters<typeof tenantOf>[0]): Promise<RequestRecord[]> {
  const traceparent = traceparentOf(request);
  const forwarding = requestForwarding(request, ctx.trust);
  const tenant = tenantOf(request);
  // All in one turn: see the module comment.
  const settled = await Promise.allSettled(
    items.map((item, i) =>
      accept(ctx, {
        id: ids[i] ?? newCorrelationId(Date.now()),
        payload: item.payload,
        headers: item.headers ?? {},
        metadata: item.metadata ?? {},
        request: null,
        traceparent,
        forwarding,
        tenant,
      }),
    ),
  );
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure === undefined) return settled.map((s) => (s as PromiseFulfilledResult<RequestRecord>).value);
  // A failed item took back its own record (accept). The stored ones are withdrawn, then deleted,
  // as a single submit's record is (D133): a worker that finds one of their messages before the
  // delete finds it CANCELLED and acknowledges it; after the delete, it finds no record and
  // dead-letters it once its grace period has passed. One a worker claimed first is running.
  const stored = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.id] : []));
  const taken = new Set<string>();
  await Promise.all(
    stored.map(async (id) => {
      if ((await withdrawn(ctx.store, id)) === false) taken.add(id);
      else await ctx.store.delete(id).catch(() => undefined);
    }),
  );
  const reason: unknown = failure.reason;
  const error = reason instanceof HqmError ? reason : new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'a backend is unavailable; nothing was stored, try again', { cause: reason });
  if (taken.size === 0) throw error;
  throw new PartlyRunning(error, stored.filter((id) => taken.has(id)));
}

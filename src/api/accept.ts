/**
 * Accepting a request — from `POST /submit` or captured in sidecar mode — and waiting for its
 * outcome. Nothing is half-written: the record and the queue message are both stored before
 * the caller hears 202, or neither is — in one atomic write where the queue and the store are
 * fused (ports/fused.ts), else in two overlapping writes with a withdrawal on failure.
 *
 * @module
 */
import type { FastifyReply } from 'fastify';
import { chainedDelay } from '../ports/queue-capabilities.js';
import { HqmError, isHqmError } from '../core/errors.js';
import { isoTime } from '../core/iso-time.js';
import { DEFAULT_QUEUE, encodeEnvelope, ENVELOPE_VERSION, normalizeMetadata, sentMetadata, type CapturedRequest, type Envelope, type RequestMetadata } from '../core/request/envelope.js';
import { partitionOf } from '../core/partition.js';
import { newCorrelationId } from '../core/request/ids.js';
import { isTerminal } from '../core/request/lifecycle.js';
import type { RequestRecord } from '../core/request/record.js';
import { initialRecord } from '../core/request/transition.js';
import type { FusedBackend, FusedSubmission } from '../ports/fused.js';
import type { ResultStore } from '../ports/result-store.js';
import type { Ticket } from './completion-waiters.js';
import type { RouteContext } from './context.js';
import { requestedRunAt } from './delay.js';
import { settleOverdue } from './overdue.js';

export interface Submission {
  readonly payload: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly request: CapturedRequest | null;
  readonly traceparent: string | null;
  /** The forwarding headers for the hop the request came in on (see core/forwarding.ts). */
  readonly forwarding: Readonly<Record<string, string>>;
  /** The submitting principal's tenant; null (or absent) without authentication. */
  readonly tenant?: string | null;
  /** The correlation id, when the caller had to know it first (an Idempotency-Key claim names it). */
  readonly id?: string;
}

/** What accepting needs: a route's context, or the worker's when it submits a follow-up (metadata.then). */
export type AcceptContext = Pick<RouteContext, 'store' | 'queue' | 'fused' | 'events' | 'options' | 'depthGate' | 'tracing'>;

export async function accept(ctx: AcceptContext, submission: Submission): Promise<RequestRecord> {
  const { options } = ctx;
  const now = Date.now();
  const id = submission.id ?? newCorrelationId(now);
  const partition = options.partitioning === undefined ? null : partitionOf({ correlation_id: id, ...submission }, options.partitioning);
  // The client's metadata.queue, else the queue of the route the request matches, else default.
  const routed = typeof submission.metadata.queue === 'string' || options.routeQueue === undefined ? null : await options.routeQueue(submission);
  const chosen = routed === null ? submission.metadata : { ...submission.metadata, queue: routed };
  const asked = chosen.queue;
  const metadata = normalizeMetadata(partition === null ? chosen : { ...chosen, partition_key: partition.key }, {
    timeout: options.queueTimeouts?.get(typeof asked === 'string' ? asked : DEFAULT_QUEUE) ?? options.defaultTimeoutSeconds,
  });
  // Its context is what the envelope carries: the worker's spans continue from it (D201).
  const span = ctx.tracing?.publish({ id, queue: metadata.queue, parent: submission.traceparent });
  if (span === undefined) return enqueue(ctx, submission, { id, now, metadata, partition, traceparent: submission.traceparent });
  try {
    const record = await enqueue(ctx, submission, { id, now, metadata, partition, traceparent: span.traceparent });
    span.end();
    return record;
  } catch (error) {
    span.end({ error });
    throw error;
  }
}

/** The request as accept resolved it. */
interface Resolved {
  readonly id: string;
  readonly now: number;
  readonly metadata: RequestMetadata;
  readonly partition: ReturnType<typeof partitionOf> | null;
  readonly traceparent: string | null;
}

/** Stores the record and publishes the message, both or neither. */
async function enqueue(ctx: AcceptContext, submission: Submission, resolved: Resolved): Promise<RequestRecord> {
  const { store, queue, events, options } = ctx;
  const { id, now, metadata, partition } = resolved;
  const tenant = submission.tenant ?? null;
  // A delayed request waits in the queue until it is due; its deadline counts from then (D100).
  const runAt = requestedRunAt(submission.metadata, now);
  const envelope: Envelope = {
    v: ENVELOPE_VERSION,
    correlation_id: id,
    timestamp: isoTime(now),
    payload: submission.payload,
    headers: submission.headers,
    metadata,
    request: submission.request,
    traceparent: resolved.traceparent,
    forwarding: submission.forwarding,
    // Without authentication the message stays exactly as it was.
    ...(tenant === null ? {} : { tenant }),
    metadata_sent: sentMetadata(submission.metadata),
    ...(runAt === null ? {} : { run_at: new Date(runAt).toISOString() }),
  };
  // Only partitioning makes a key hold requests back; without it a partition_key is just data.
  const message = { body: encodeEnvelope(envelope), priority: metadata.priority, partitionKey: partition?.orderingKey ?? null, ...(runAt === null ? {} : { delayMs: chainedDelay(queue.capabilities, runAt - now) }) };
  const max = queue.capabilities.maxMessageBytes;
  if (message.body.length * 3 > max && Buffer.byteLength(message.body) > max) {
    throw new HqmError('HQM_ERR_BODY_TOO_LARGE', `the request is larger than the ${queue.type} queue accepts (${max} bytes)`);
  }
  const backendQueue = options.queues.get(metadata.queue) as string;
  ctx.depthGate.check(backendQueue);
  const request = { id, queue: metadata.queue, priority: metadata.priority, submittedAt: now, deadlineAt: (runAt ?? now) + metadata.timeout * 1000, ttlMs: options.ttlMs, tenant, runAt };
  if (ctx.fused !== undefined) return acceptFused(ctx, ctx.fused, { request, queue: backendQueue, message });
  // Both writes start in the same tick: on a shared SQLite file they land in one transaction,
  // and elsewhere the two round trips overlap. A worker that sees the message before the
  // record waits for it (see worker/attempt.ts), so the order between them does not matter.
  const [created, published] = await Promise.allSettled([store.create(request), queue.publish(backendQueue, message)]);
  if (created.status === 'rejected' && isRefusal(created.reason, 'HQM_ERR_DUPLICATE_ID')) {
    // The id is another submission's (a follow-up submitted twice): its record stays. A message
    // published beside it is one more delivery of that request, which its claim makes harmless.
    throw created.reason;
  }
  if (published.status === 'rejected' || created.status === 'rejected') {
    // Nothing half-written: the record goes, and the client hears 503 (or 413), not 202. It goes
    // even when its write failed: a write that timed out may still land when the server catches
    // up, and the delete, sent after it on the same connection, lands after it. A message
    // without its record is dead-lettered by the worker once its grace period has passed. Should
    // the delete fail too, the orphan record reads as TIMEOUT once its deadline passes
    // (api/overdue.ts) and expires with its TTL.
    if (created.status === 'fulfilled' && (await withdrawn(store, id)) === false) {
      // A publish that "failed" (a timeout) landed after all, and a worker already claimed the
      // request: it is accepted and running, so the client hears 202, never a 503 for a
      // request that runs (D133).
      events.emit('request:submitted', { id, queue: backendQueue, tenant });
      return created.value;
    }
    await store.delete(id).catch(() => undefined);
    if (published.status === 'rejected') {
      const error: unknown = published.reason;
      events.emit('request:publish_failed', { id, queue: backendQueue, error: error as Error });
      throw isRefusal(error, 'HQM_ERR_BODY_TOO_LARGE') ? error : unavailable(error, 'the queue');
    }
    throw unavailable((created as PromiseRejectedResult).reason, 'the result store');
  }
  events.emit('request:submitted', { id, queue: backendQueue, tenant });
  return created.value;
}

/**
 * The fused submit (D183): record and message in one atomic write, batched with the turn's other
 * submits where the server rewards it. A refusal (a duplicate id, a body over the queue's limit)
 * wrote nothing and is the answer. Any other failure may have landed whole after all (a write
 * that timed out): it is withdrawn exactly as the two-port path withdraws a half-written submit,
 * so a request answered 503 never runs (D133).
 */
async function acceptFused(ctx: AcceptContext, fused: FusedBackend, submission: FusedSubmission): Promise<RequestRecord> {
  const { store, events } = ctx;
  const { id, tenant } = submission.request;
  try {
    const { record } = await fused.submit(submission);
    events.emit('request:submitted', { id, queue: submission.queue, tenant: tenant ?? null });
    return record;
  } catch (error) {
    if (isRefusal(error, 'HQM_ERR_DUPLICATE_ID') || isRefusal(error, 'HQM_ERR_BODY_TOO_LARGE')) throw error;
    if ((await withdrawn(store, id)) === false) {
      events.emit('request:submitted', { id, queue: submission.queue, tenant: tenant ?? null });
      return initialRecord(submission.request).record;
    }
    await store.delete(id).catch(() => undefined);
    events.emit('request:publish_failed', { id, queue: submission.queue, error: error as Error });
    throw unavailable(error, 'the queue and the result store');
  }
}

function isRefusal(error: unknown, code: 'HQM_ERR_DUPLICATE_ID' | 'HQM_ERR_BODY_TOO_LARGE'): error is HqmError {
  return isHqmError(error) && error.code === code;
}

/**
 * Reads the record, waiting up to `ms` for it to finish. Undefined when it does not exist. A
 * request still PENDING at its deadline is settled as TIMEOUT then, not when the wait ends
 * (one PROCESSING then is timed out by its worker, whose write ends the wait).
 */
export async function waitForTerminal(ctx: RouteContext, id: string, ms: number, reply: FastifyReply): Promise<RequestRecord | undefined> {
  const ticket = ctx.waiters.register(id, ms);
  if (ticket === undefined) {
    // api.max_waiters already wait: answered at once, as with wait=0.
    const now = await ctx.store.get(id);
    return now && (await settleOverdue(ctx, now));
  }
  // Registered before the read, so no change falls in between.
  const first = await ctx.store.get(id).catch((error: unknown) => {
    ticket.cancel();
    throw error;
  });
  return awaitTicket(ctx, id, first, ticket, ms, reply);
}

/**
 * Waits up to `ms` for a request this call has just submitted, with the ticket it registered
 * before writing the record: no change can have slipped by unseen, so the record is not read
 * first (a round trip per waiting submit on a shared store). Without a ticket (api.max_waiters
 * already wait) the request is answered at once, as with wait=0.
 */
export async function waitForSubmitted(ctx: RouteContext, submitted: RequestRecord, ticket: Ticket | undefined, ms: number, reply: FastifyReply): Promise<RequestRecord | undefined> {
  if (ticket === undefined) return submitted;
  return awaitTicket(ctx, submitted.id, submitted, ticket, ms, reply);
}

async function awaitTicket(ctx: RouteContext, id: string, first: RequestRecord | undefined, ticket: Ticket, ms: number, reply: FastifyReply): Promise<RequestRecord | undefined> {
  // The response's 'close' tells a client that went away (the request's has already fired
  // once its body was read).
  const onClose = (): void => ticket.cancel();
  reply.raw.once('close', onClose);
  let deadlineTimer: NodeJS.Timeout | undefined;
  try {
    if (first === undefined || isTerminal(first.status) || ctx.closing()) return first && (await settleOverdue(ctx, first));
    const deadline = first.deadlineAt;
    if (first.status === 'PENDING' && deadline !== null && deadline - Date.now() < ms) {
      // Settled as of the deadline itself: a timer may fire a little before Date.now() reaches it.
      // The TIMEOUT write wakes the ticket through the change feed.
      const settle = (): void => {
        ctx.store
          .get(id)
          .then((current) => current && settleOverdue(ctx, current, Math.max(Date.now(), deadline)))
          .catch(() => undefined); // The store is away: the wait ends at `ms` and the read below tells.
      };
      deadlineTimer = setTimeout(settle, Math.max(0, deadline - Date.now()));
    }
    await ticket.settled;
    const last = await ctx.store.get(id);
    return last && (await settleOverdue(ctx, last));
  } finally {
    clearTimeout(deadlineTimer);
    ticket.cancel();
    reply.raw.off('close', onClose);
  }
}

export function unavailable(error: unknown, what: string): HqmError {
  if (isHqmError(error)) return error;
  return new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', `${what} is unavailable; nothing was stored, try again`, { cause: error });
}

/**
 * Ends a just-created record whose submission failed, before it is deleted: a compare-and-set
 * from PENDING, so a worker that finds the message (a publish that timed out may still land)
 * finds a finished record and never runs it. False when a worker claimed it first; undefined
 * when the store could not be asked (the delete follows regardless). Batch submits undo their
 * stored items with it too (routes/batch.ts, D176).
 */
export async function withdrawn(store: ResultStore, id: string): Promise<boolean | undefined> {
  const result = await store
    .transition({ id, from: ['PENDING'], to: 'CANCELLED', attempt: 0, error: 'submission failed: the client was answered 503' })
    .catch(() => undefined);
  if (result === undefined || result.ok || result.reason === 'not_found') return result === undefined ? undefined : true;
  return false;
}

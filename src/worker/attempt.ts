/**
 * One delivery, from receipt to settlement: claim the record, run the processor under the
 * request's deadline, write the outcome with a compare-and-set, then settle the delivery.
 * The store is always written before the queue is settled, so a crash in between leaves a
 * redelivery that finds the record finished and simply acknowledges it: nothing is lost and
 * nothing finishes twice.
 *
 * @module
 */
import { chainedDelay } from '../ports/queue-capabilities.js';
import { coerceError, HqmError, isHqmError } from '../core/errors.js';
import type { DeadLetterReason, HqmEvents } from '../core/events.js';
import { DEADLINE_MESSAGE, deadlineOf, decodeMessage, dueAt, wrapBare, type Envelope } from '../core/request/envelope.js';
import { correlationIdFor } from '../core/request/ids.js';
import { validTraceparent } from '../core/trace-context.js';
import { isTerminal, type Status } from '../core/request/lifecycle.js';
import type { RequestRecord } from '../core/request/record.js';
import { lazyChild, type Logger } from '../ports/logger.js';
import type { FusedBackend, Settlement } from '../ports/fused.js';
import type { Delivery, QueueCapabilityValues } from '../ports/queue-backend.js';
import type { ResultStore, TransitionRequest } from '../ports/result-store.js';
import type { OpenSpan, Tracing } from '../ports/tracing.js';
import { planFollowUp, resumeFollowUp, submitFollowUp, type ChainPlan, type FollowUps } from './chain.js';
import { failure, onFailure, onSuccess, type Decision } from './decide.js';
import type { Processor } from './processor.js';
import type { RetryPolicy } from './retry-policy.js';
import { TenantBackoff } from './tenant-backoff.js';

export { CancelAbort, ShutdownAbort } from './decide.js';

/**
 * A message younger than this whose record is missing is waited for, not dropped: the API
 * writes both at once, and on separate backends the message can arrive first. Older than
 * this, a missing record means the request expired or its submission failed (the client got
 * a 503, and the API withdrew the record first: such a request never runs), and the message
 * is dead-lettered.
 */
const RECORD_GRACE_MS = 60_000;
/**
 * How long a message whose record is missing waits before it looks again: half its age, within
 * these bounds. A record that is merely late shows up within the first few looks; an orphan
 * costs about fifteen round trips over the grace period instead of one every 250 ms.
 */
const RECORD_WAIT_MS = { min: 250, max: 15_000 };
/** A delivery handed back because another attempt's lease is live looks again no sooner than this. */
const HELD_WAIT_MIN_MS = 50;
/** The store lease of a claim when the caller gives none (tests): the default visibility timeout. */
const DEFAULT_LEASE_MS = 30_000;
/** For callers that give a limit but no backoff of their own (tests). */
const fallbackBackoff = new TenantBackoff();

export interface AttemptDeps {
  readonly store: ResultStore;
  /** The fused write-and-settle where queue and store share one server (ports/fused.ts); absent: the two ports. */
  readonly fused?: FusedBackend;
  readonly processor: Processor;
  readonly events: HqmEvents;
  readonly logger: Logger;
  readonly queueName: string;
  /** The named queue served (records of bare messages are filed under it); `default` when absent. */
  readonly queue?: string;
  readonly workerId: string;
  /**
   * The store lease of a claim (D130), renewed by the pool's heartbeat while the attempt runs:
   * the worker's visibility timeout. 30 s when absent.
   */
  readonly leaseMs?: number;
  /** The queue backend's delays (capabilities.delays): a longer hand-back is chained. Unbounded when absent. */
  readonly delays?: QueueCapabilityValues['delays'];
  readonly retry: RetryPolicy;
  readonly defaultTimeoutSeconds: number;
  /** How long a record created for a bare message lives after it finishes. */
  readonly ttlMs: number;
  /** Keys the ids of bare messages, so nobody without it can guess them (D56). */
  readonly idSecret: string;
  /** Largest result stored, as JSON bytes; the default of `toJsonResult` when undefined. */
  readonly maxResultBytes?: number | undefined;
  /**
   * Takes the settlement (ack, retry, release, dead-letter) of a delivery whose outcome is
   * already stored, so the slot is free for the next request while it completes.
   */
  readonly settle: (settlement: Promise<void>) => void;
  /** Most requests of a tenant PROCESSING at once across every worker; null: no limit. */
  readonly tenantLimit?: (tenant: string | null) => number | null;
  /** When a delivery refused for its tenant's limit comes back. */
  readonly tenantBackoff?: TenantBackoff;
  /** Submits follow-ups of completed requests (metadata.then); undefined: `then` is ignored. */
  readonly followUps?: FollowUps;
  /**
   * Told of every terminal record whose message this worker settles, before the settlement (the
   * webhook enqueuer, D118): `applied` when this attempt made the transition, else the record was
   * found terminal (or the attempt's own write lost) and `record` may be null (then it is read).
   * A rejection leaves the message unsettled, so it comes back and the hook is called again.
   */
  readonly onTerminal?: (seen: TerminalSeen) => Promise<void>;
  /** Opens each attempt's span (D201); undefined while tracing is off. */
  readonly tracing?: Tracing;
  /**
   * Whether `onTerminal` has anything to do for a request submitted with this metadata (a
   * webhook to enqueue). Where it has not, the fused path may write and settle in one step;
   * absent, it is assumed to have (D184).
   */
  readonly onTerminalWants?: (metadata: Envelope['metadata']) => boolean;
}

export interface TerminalSeen {
  readonly id: string;
  readonly metadata: Envelope['metadata'];
  readonly tenant: string | null;
  readonly record: RequestRecord | null;
  readonly applied: boolean;
  /** The trace context the webhook continues: the attempt's that ended the request, else the envelope's. */
  readonly traceparent: string | null;
}

/** The record as moved, or undefined when the compare-and-set did not apply. */
type Finish = (to: Status, extra: Partial<TransitionRequest>) => Promise<RequestRecord | undefined>;

/** How far an attempt got, for the worker pool to hand the delivery back right after a failure. */
export interface AttemptProgress {
  /** The record says PROCESSING under this attempt (the store's lease is this worker's to renew). */
  claimed: boolean;
  /** The attempt the store gave the claim, once claimed. */
  attempt?: number;
  /** The request this delivery carries, once decoded: a cancel of it aborts the attempt. */
  id?: string;
}

export async function runAttempt(deps: AttemptDeps, delivery: Delivery, controller: AbortController, progress: AttemptProgress = { claimed: false }): Promise<void> {
  const envelope = await receive(deps, delivery);
  if (envelope === undefined) return;
  const { store, events } = deps;
  const id = envelope.correlation_id;
  // Known before the claim, so a cancel that lands between the claim and the processor's start still aborts it.
  progress.id = id;
  // Until the claim, the broker's count is all there is: a hint for logs and events (D130).
  const hint = delivery.deliveryCount;
  const tenant = envelope.tenant ?? null;
  const early = lazyChild(deps.logger, { correlation_id: id, delivery_count: hint });
  events.emit('delivery:received', { id, queue: deps.queueName, attempt: hint });

  const due = dueAt(envelope);
  if (due !== null && due > Date.now()) {
    // Delivered before it is due (a backend whose delays are capped or coarse, clocks that
    // differ): back to the queue for the rest, without counting an attempt (D101).
    // A wait longer than the backend's longest delay is chained: this hand-back is one link (D132).
    const delayMs = deps.delays === undefined ? due - Date.now() : chainedDelay({ delays: deps.delays }, due - Date.now());
    early.debug({ run_at: envelope.run_at, retry_in_ms: delayMs }, 'delivered before it is due: handed back');
    deps.settle(delivery.release(delayMs));
    events.emit('request:deferred', { id, queue: deps.queueName, attempt: hint, delayMs, reason: 'not_due' });
    return;
  }
  if (Date.now() >= deadlineOf(envelope)) {
    // Past its deadline while it waited: end it without running it. (A record held by a lost
    // attempt is claimed first, below, and timed out from PROCESSING.) The attempt written is
    // the record's own: from PENDING the fence does not look at it.
    const waiting = await store.get(id);
    const expired = waiting?.status === 'PENDING'
      ? await store.transition({ id, from: ['PENDING'], to: 'TIMEOUT', attempt: waiting.attempt, workerId: deps.workerId, error: DEADLINE_MESSAGE, outcome: failure(DEADLINE_MESSAGE, 0) })
      : undefined;
    if (expired?.ok === true) {
      deps.settle(afterTerminal(deps, envelope, expired.record, true, () => delivery.ack()));
      events.emit('request:timeout', { id, queue: deps.queueName, attempt: expired.record.attempt, durationMs: 0, tenant });
      return;
    }
  }
  // The envelope carries the tenant the API recorded; the store counts by the record's own.
  const tenantLimit = deps.tenantLimit?.(tenant) ?? null;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const claim = await store.claim({ id, workerId: deps.workerId, leaseMs, tenantLimit });
  if (!claim.ok) {
    if (claim.reason === 'tenant_busy') {
      // Not this request's fault: back to the queue without counting an attempt, spaced out so
      // the consumer moves on to other tenants' messages instead of spinning on this tenant's.
      const delayMs = (deps.tenantBackoff ?? fallbackBackoff).delayFor(claim.current.tenant ?? '');
      early.debug({ tenant: claim.current.tenant, limit: tenantLimit, retry_in_ms: delayMs }, 'tenant at its concurrency limit: handed back');
      deps.settle(delivery.release(delayMs));
      events.emit('request:deferred', { id, queue: deps.queueName, attempt: hint, delayMs, reason: 'tenant_busy' });
      return;
    }
    if (claim.reason === 'held') {
      // Another copy of this message runs under a live lease (a duplicate publish, a broker that
      // redelivers without a lapse): back to the queue uncounted, to look again when that lease
      // would lapse; by then the request has usually finished and this copy is simply acked.
      const delayMs = Math.min(leaseMs, Math.max(HELD_WAIT_MIN_MS, claim.leaseUntil - Date.now()));
      early.info({ holder: claim.current.workerId, attempt: claim.current.attempt, retry_in_ms: delayMs }, 'request is running under another delivery: handed back');
      deps.settle(delivery.release(delayMs));
      events.emit('request:deferred', { id, queue: deps.queueName, attempt: claim.current.attempt, delayMs, reason: 'held' });
      return;
    }
    if (claim.reason === 'not_found') {
      const age = Date.now() - delivery.enqueuedAt;
      if (age < RECORD_GRACE_MS) {
        // The API writes the record and the message concurrently; this message overtook its
        // record, or is an orphan whose submission failed: look again later and later.
        deps.settle(delivery.release(Math.min(RECORD_WAIT_MS.max, Math.max(RECORD_WAIT_MS.min, Math.floor(age / 2)))));
        return;
      }
      const reason = 'no record exists for this request: its submission failed (the client was told 503) or it expired before a worker took it';
      deps.settle(delivery.deadLetter(reason));
      reportDeadLettered(deps, { id, reason: 'no_record', attempts: hint, error: reason });
      return;
    }
    // Finished: nothing (else) for this delivery to do.
    const current = claim.current;
    // A completion whose delivery was not acknowledged may not have submitted its follow-up yet.
    if (current.status === 'COMPLETED') await resumeFollowUp({ store, followUps: deps.followUps, logger: early }, envelope, current);
    early.info({ status: current.status }, 'delivery of a finished request: acknowledged');
    deps.settle(afterTerminal(deps, envelope, current, false, () => delivery.ack()));
    return;
  }
  const attempt = claim.record.attempt;
  progress.attempt = attempt;
  progress.claimed = true;
  // Opened before the claim is announced: the tracer reads the queue wait from that event.
  const span = openAttemptSpan(deps, envelope, attempt);
  try {
    await runClaimed(deps, delivery, controller, { envelope, claimed: claim.record, span });
    span?.end();
  } catch (error) {
    span?.end({ error });
    throw error;
  }
}

/** Everything after a successful claim: run the processor, store the outcome, settle. */
async function runClaimed(deps: AttemptDeps, delivery: Delivery, controller: AbortController, at: { envelope: Envelope; claimed: RequestRecord; span: OpenSpan | undefined }): Promise<void> {
  const { envelope, claimed, span } = at;
  const { store, events } = deps;
  const id = envelope.correlation_id;
  const attempt = claimed.attempt;
  const tenant = envelope.tenant ?? null;
  // What the processor, the upstream call, a follow-up and the webhook continue: the attempt's span, else the client's own context.
  const traceparent = span?.traceparent ?? validTraceparent(envelope.traceparent);
  const log = lazyChild(deps.logger, span === undefined ? { correlation_id: id, attempt } : { correlation_id: id, attempt, trace_id: span.traceId, span_id: span.spanId });
  // Queue wait, as the store's clock saw it: from when the request was due (its submission, or
  // its run_at when delayed) to this claim (the analytics' sample).
  const dueSince = Math.max(claimed.submittedAt, claimed.runAt ?? 0);
  events.emit('request:claimed', { id, queue: deps.queueName, attempt, waitMs: Math.max(0, claimed.updatedAt - dueSince) });

  const finish: Finish = (to, extra) => store.transition({ id, from: ['PROCESSING'], to, attempt, workerId: deps.workerId, ...extra }).then((r) => (r.ok ? r.record : undefined));
  if (attempt > deps.retry.maxAttempts) {
    const error = new HqmError('HQM_ERR_ATTEMPTS_EXHAUSTED', `gave up after ${attempt - 1} runs that never finished (workers lost mid-request)`);
    await apply(deps, delivery, { id, attempt, log, finish, tenant, envelope, traceparent }, { kind: 'fail', outcome: failure(error.message, 0, undefined, error.code), error }, 'attempts_exhausted');
    return;
  }
  const deadline = claimed.deadlineAt;
  const executed = await execute(deps, envelope, { attempt, deadline, log, controller, traceparent });
  // The follow-up's id goes into the COMPLETED write itself (worker/chain.ts).
  const chain = executed.kind === 'complete' ? planFollowUp(deps.followUps, envelope, executed.outcome.result, traceparent) : undefined;
  const decision = executed.kind === 'complete' && chain?.kind === 'follow-up' ? { ...executed, outcome: { ...executed.outcome, nextId: chain.followUp.id } } : executed;
  await apply(deps, delivery, { id, attempt, log, finish, tenant, envelope, chain, traceparent }, decision, 'processing_failed');
}

/** The attempt's span, a child of the envelope's context; undefined while tracing is off. */
function openAttemptSpan(deps: AttemptDeps, envelope: Envelope, attempt: number): OpenSpan | undefined {
  if (deps.tracing === undefined) return undefined;
  // Last put in the queue by a client or an operator: its submission (a replay's), or when a delayed one fell due.
  const submitted = Date.parse(envelope.timestamp);
  const queuedAt = Math.max(Number.isNaN(submitted) ? 0 : submitted, dueAt(envelope) ?? 0);
  return deps.tracing.attempt({ id: envelope.correlation_id, queue: envelope.metadata.queue, attempt, parent: envelope.traceparent, workerId: deps.workerId, queuedAt });
}

/** Decodes the delivery; a bare message from an outside producer gets its envelope and record here. */
async function receive(deps: AttemptDeps, delivery: Delivery): Promise<Envelope | undefined> {
  // A message without a timestamp was submitted when it was enqueued.
  const defaults = { timeout: deps.defaultTimeoutSeconds, timestamp: delivery.enqueuedAt };
  let decoded;
  try {
    decoded = decodeMessage(delivery.body, defaults);
  } catch (error) {
    deps.settle(delivery.deadLetter(coerceError(error).message));
    reportDeadLettered(deps, { id: null, reason: 'invalid_message', attempts: delivery.deliveryCount, error: coerceError(error).message, messageId: delivery.messageId });
    return undefined;
  }
  if (decoded.kind === 'envelope') return decoded.envelope;
  // Every redelivery of the same message maps to the same id, so it is one request. Its clock
  // starts when OpenHQM first sees it: a backlog built up while no worker ran is not late.
  const id = correlationIdFor(`${deps.queueName}\0${delivery.messageId}\0${delivery.enqueuedAt}`, deps.idSecret);
  const envelope = wrapBare(decoded.payload, id, Date.now(), defaults);
  await deps.store
    .create({ id, queue: deps.queue ?? 'default', priority: delivery.priority, submittedAt: Date.parse(envelope.timestamp), deadlineAt: deadlineOf(envelope), ttlMs: deps.ttlMs })
    .catch((error: unknown) => {
      if (!(isHqmError(error) && error.code === 'HQM_ERR_DUPLICATE_ID')) throw error;
    });
  return envelope;
}

async function execute(deps: AttemptDeps, envelope: Envelope, at: { attempt: number; deadline: number | null; log: Logger; controller: AbortController; traceparent: string | null }): Promise<Decision> {
  const { attempt, deadline, controller } = at;
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  if (deadline !== null && Date.now() >= deadline) return { kind: 'timeout', outcome: failure(DEADLINE_MESSAGE, 0) };
  const disarm = armDeadline(controller, deadline);
  try {
    const id = envelope.correlation_id;
    // Promise.resolve().then: a processor that is not async (or throws synchronously) works too.
    const value = await raceAbort(
      Promise.resolve().then(() => deps.processor(envelope, {
        attempt,
        maxAttempts: deps.retry.maxAttempts,
        idempotencyKey: id,
        signal: controller.signal,
        deadline,
        logger: at.log,
        tenant: envelope.tenant ?? null,
        traceparent: at.traceparent,
        // Best effort, and never a rejection: a processor may well call it without awaiting.
        progress: async (percent) => {
          await deps.store.setProgress(id, attempt, Math.min(100, Math.max(0, Number(percent) || 0))).catch((error: unknown) => {
            at.log.warn({ err: error }, 'progress could not be recorded');
          });
        },
      })),
      controller.signal,
    );
    // A processor that blocked the event loop past the deadline finished before the abort could fire.
    if (deadline !== null && Date.now() >= deadline) return { kind: 'timeout', outcome: failure(DEADLINE_MESSAGE, elapsed()) };
    return onSuccess(value, elapsed(), deps.maxResultBytes);
  } catch (thrown) {
    const reason: unknown = controller.signal.aborted ? controller.signal.reason : thrown;
    return onFailure(reason, { attempt, policy: deps.retry, elapsedMs: elapsed() });
  } finally {
    disarm();
  }
}

/** A settlement that acknowledges the message of a request that ended by another hand (after the terminal hook). */
const ENDED = 'ended' as const;
const ACK: Settlement = { kind: 'ack' };

/**
 * Writes the decision to the store and settles the delivery accordingly: in one atomic step
 * where the queue and the store are fused and nothing has to run between the two (D184), else
 * the write first and the settlement after it (a crash between leaves a redelivery that finds
 * the record finished and acknowledges it).
 */
async function apply(
  deps: AttemptDeps,
  delivery: Delivery,
  at: { id: string; attempt: number; log: Logger; finish: Finish; tenant: string | null; envelope: Envelope; chain?: ChainPlan | undefined; traceparent: string | null },
  decision: Decision,
  failReason: DeadLetterReason,
): Promise<void> {
  const { events, queueName: queue } = deps;
  const { id, attempt, log, finish, tenant, envelope } = at;
  const fused = fusedFinish(deps, delivery, at);
  /**
   * Writes `to`; when it applied, runs `onApplied` and settles as `applied` (a terminal record's
   * after the terminal hook); when it did not, settles as `otherwise`, or acknowledges a request
   * that ended by another hand (its webhook is enqueued as found). The record as moved, or undefined.
   */
  const conclude = async (to: Status, extra: Partial<TransitionRequest>, applied: Settlement, otherwise: Settlement | typeof ENDED, onApplied?: (record: RequestRecord) => Promise<void> | void): Promise<RequestRecord | undefined> => {
    if (fused !== undefined) {
      const moved = await fused(to, extra, applied, otherwise === ENDED ? ACK : otherwise);
      if (moved !== undefined) await onApplied?.(moved);
      return moved;
    }
    const done = await finish(to, extra);
    if (done === undefined) {
      deps.settle(otherwise === ENDED ? afterTerminal(deps, envelope, null, false, () => delivery.ack()) : settleBy(delivery, otherwise));
      return undefined;
    }
    await onApplied?.(done);
    deps.settle(isTerminal(to) ? afterTerminal(deps, envelope, done, true, () => settleBy(delivery, applied), at.traceparent) : settleBy(delivery, applied));
    return done;
  };
  switch (decision.kind) {
    case 'complete': {
      const done = await conclude('COMPLETED', { outcome: decision.outcome, error: null }, ACK, ENDED, async () => {
        events.emit('request:completed', { id, queue, attempt, durationMs: decision.outcome.processingTimeMs ?? 0, tenant });
        // Before the ack: should this fail, the redelivery finds COMPLETED and submits it then.
        if (at.chain !== undefined && deps.followUps !== undefined) await submitFollowUp({ store: deps.store, followUps: deps.followUps, logger: log }, id, at.chain);
      });
      if (done === undefined) log.warn({}, 'the result was not stored: the request was taken over, finished or expired meanwhile');
      return;
    }
    case 'timeout':
      await conclude('TIMEOUT', { error: DEADLINE_MESSAGE, outcome: decision.outcome }, ACK, ENDED, () => {
        events.emit('request:timeout', { id, queue, attempt, durationMs: decision.outcome.processingTimeMs ?? 0, tenant });
      });
      return;
    case 'cancelled':
      // The store already says CANCELLED (the client's compare-and-set): nothing left to write or run.
      log.info({}, 'cancelled while it ran: processor aborted, delivery acknowledged');
      deps.settle(afterTerminal(deps, envelope, null, false, () => delivery.ack()));
      return;
    case 'release': {
      // Given back uncounted: the next claim runs under this same attempt number (D131).
      const back: Settlement = { kind: 'release', delayMs: 0 };
      await conclude('PENDING', { error: 'released: the worker shut down before the request finished', refund: true }, back, back);
      events.emit('request:released', { id, queue, attempt });
      return;
    }
    case 'defer':
      log.info({ reason: decision.error.message, retry_in_ms: decision.delayMs }, 'deferred without counting an attempt');
      await conclude('PENDING', { error: `deferred: ${decision.error.message}`, refund: true }, { kind: 'release', delayMs: decision.delayMs }, ENDED);
      events.emit('request:deferred', { id, queue, attempt, delayMs: decision.delayMs, reason: decision.error.message });
      return;
    case 'retry':
      log.warn({ err: decision.error, retry_in_ms: decision.delayMs }, 'attempt failed; will retry');
      await conclude('PENDING', { error: decision.error.message }, { kind: 'retry', delayMs: decision.delayMs }, ENDED);
      events.emit('request:retrying', { id, queue, attempt, delayMs: decision.delayMs, error: decision.error, durationMs: decision.elapsedMs });
      return;
    case 'fail': {
      log.error({ err: decision.error }, 'request failed');
      const reason = decision.outcome.error ?? decision.error.message;
      await conclude('FAILED', { error: decision.outcome.error, outcome: decision.outcome }, { kind: 'deadLetter', reason }, ENDED, () => {
        reportDeadLettered(deps, { id, reason: failReason, attempts: attempt, error: reason });
        events.emit('request:failed', { id, queue, attempt, error: decision.error, durationMs: decision.outcome.processingTimeMs ?? 0, tenant });
      });
      return;
    }
  }
}

/** A fused pair's write-and-settle (D184) */
type FusedConclude = (to: Status, extra: Partial<TransitionRequest>, applied: Settlement, otherwise: Settlement) => Promise<RequestRecord | undefined>;

/**
 * The fused write-and-settle of this delivery, where the pair offers one (it owns the delivery)
 * and nothing has to run between the write and the settlement: no terminal hook that wants this
 * request (its webhook is enqueued before the message goes) and no follow-up to submit. Else
 * undefined, and the two-port path runs.
 */
function fusedFinish(deps: AttemptDeps, delivery: Delivery, at: { id: string; attempt: number; envelope: Envelope; chain?: ChainPlan | undefined }): FusedConclude | undefined {
  const { fused } = deps;
  if (fused === undefined || !fused.owns(delivery)) return undefined;
  if (deps.onTerminal !== undefined && deps.onTerminalWants?.(at.envelope.metadata) !== false) return undefined;
  if (at.chain !== undefined && at.chain.kind !== 'none') return undefined;
  const { id, attempt } = at;
  return async (to, extra, applied, otherwise) => {
    const result = await fused.finish(delivery, { transition: { id, from: ['PROCESSING'], to, attempt, workerId: deps.workerId, ...extra }, applied, otherwise });
    return result.ok ? result.record : undefined;
  };
}

function settleBy(delivery: Delivery, settlement: Settlement): Promise<void> {
  switch (settlement.kind) {
    case 'ack':
      return delivery.ack();
    case 'retry':
      return delivery.retry(settlement.delayMs);
    case 'release':
      return delivery.release(settlement.delayMs);
    case 'deadLetter':
      return delivery.deadLetter(settlement.reason);
  }
}

/**
 * Every dead-lettering is marked the same way: the event (counted as openhqm_queue_dlq_total by
 * queue and reason, which deploy/prometheus alerts on) and one log line at level error, so an
 * operator's log alert needs one rule whatever the reason. D98.
 */
function reportDeadLettered(deps: AttemptDeps, at: { id: string | null; reason: DeadLetterReason; attempts: number; error: string; messageId?: string }): void {
  deps.events.emit('request:dead_lettered', { id: at.id, queue: deps.queueName, reason: at.reason });
  const context = { correlation_id: at.id, queue: deps.queueName, reason: at.reason, attempts: at.attempts, error: at.error, ...(at.messageId === undefined ? {} : { message_id: at.messageId }) };
  deps.logger.error(context, 'request dead-lettered: replay it with POST /api/v1/dead-letters/{id}/replay once the cause is fixed');
}

/** Settles the message of a terminal record only after the terminal hook (the webhook) has run; see AttemptDeps.onTerminal. */
function afterTerminal(deps: AttemptDeps, envelope: Envelope, record: RequestRecord | null, applied: boolean, settle: () => Promise<void>, traceparent = validTraceparent(envelope.traceparent)): Promise<void> {
  if (deps.onTerminal === undefined) return settle();
  return deps.onTerminal({ id: envelope.correlation_id, metadata: envelope.metadata, tenant: envelope.tenant ?? null, record, applied, traceparent }).then(settle);
}

/** Node timers overflow past ~24.8 days: a deadline further away is reached in steps. */
const MAX_TIMER_MS = 2_147_483_647;

/** Aborts `controller` at `deadline`; returns the disarm. */
function armDeadline(controller: AbortController, deadline: number | null): () => void {
  if (deadline === null) return () => undefined;
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    const left = deadline - Date.now();
    timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(() => controller.abort(new HqmError('HQM_ERR_DEADLINE_EXCEEDED', `deadline ${new Date(deadline).toISOString()} passed`)), Math.max(0, left));
  };
  arm();
  return () => clearTimeout(timer);
}

/** Settles as soon as the signal aborts, even if the processor ignores it. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(coerceError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(coerceError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(coerceError(error));
      },
    );
  });
}

/**
 * One delivery, from receipt to settlement: claim the record, run the processor under the
 * request's deadline, write the outcome with a compare-and-set, then settle the delivery.
 * The store is always written before the queue is settled, so a crash in between leaves a
 * redelivery that finds the record finished and simply acknowledges it: nothing is lost and
 * nothing finishes twice.
 *
 * @module
 */
import { coerceError, HqmError, isHqmError } from '../core/errors.js';
import type { DeadLetterReason, HqmEvents } from '../core/events.js';
import { deadlineOf, decodeEnvelope, type Envelope } from '../core/request/envelope.js';
import { isTerminal, type Status } from '../core/request/lifecycle.js';
import type { Outcome } from '../core/request/record.js';
import type { Logger } from '../ports/logger.js';
import type { Delivery } from '../ports/queue-backend.js';
import type { ResultStore, TransitionRequest } from '../ports/result-store.js';
import { toJsonResult } from './json-result.js';
import { isRetryable, ProcessorResponse, type Processor } from './processor.js';
import { backoffMs, hasAttemptsLeft, type RetryPolicy } from './retry-policy.js';

/**
 * A message younger than this whose record is missing is waited for, not dropped: the API
 * writes both at once, and on separate backends the message can arrive first. Older than
 * this, a missing record means the request expired or its submission failed (the client got
 * a 503), and the message is dropped.
 */
const RECORD_GRACE_MS = 60_000;
const RECORD_WAIT_MS = 250;
const DEADLINE_MESSAGE = 'the request deadline (metadata.timeout) passed before it completed';

export interface AttemptDeps {
  readonly store: ResultStore;
  readonly processor: Processor;
  readonly events: HqmEvents;
  readonly logger: Logger;
  readonly queueName: string;
  readonly workerId: string;
  readonly retry: RetryPolicy;
  readonly defaultTimeoutSeconds: number;
  /**
   * Takes the settlement (ack, retry, release, dead-letter) of a delivery whose outcome is
   * already stored, so the slot is free for the next request while it completes.
   */
  readonly settle: (settlement: Promise<void>) => void;
}

/** Why an execution was aborted from outside the processor. */
export class ShutdownAbort extends Error {
  constructor() {
    super('the worker is shutting down');
    this.name = 'ShutdownAbort';
  }
}

export async function runAttempt(deps: AttemptDeps, delivery: Delivery, controller: AbortController): Promise<void> {
  let envelope: Envelope;
  try {
    envelope = decodeEnvelope(delivery.body, { timeout: deps.defaultTimeoutSeconds });
  } catch (error) {
    deps.logger.error({ err: error, message_id: delivery.messageId }, 'undecodable message: dead-lettered without processing');
    deps.settle(delivery.deadLetter(coerceError(error).message));
    deps.events.emit('request:dead_lettered', { id: null, queue: deps.queueName, reason: 'invalid_message' });
    return;
  }
  const id = envelope.correlation_id;
  const log = deps.logger.child({ correlation_id: id, attempt: delivery.attempt });
  const { store, events } = deps;
  const attempt = delivery.attempt;
  events.emit('delivery:received', { id, queue: deps.queueName, attempt });

  if (Date.now() >= deadlineOf(envelope)) {
    // Past its deadline while it waited: end it without running it. (A record held by a lost
    // attempt is claimed first, below, and timed out from PROCESSING.)
    const expired = await store.transition({ id, from: ['PENDING'], to: 'TIMEOUT', attempt, workerId: deps.workerId, error: DEADLINE_MESSAGE, outcome: failure(DEADLINE_MESSAGE, 0) });
    if (expired.ok) {
      deps.settle(delivery.ack());
      events.emit('request:timeout', { id, queue: deps.queueName, attempt, durationMs: 0 });
      return;
    }
  }
  const claim = await store.transition({ id, from: ['PENDING', 'PROCESSING'], to: 'PROCESSING', attempt, workerId: deps.workerId, error: null });
  if (!claim.ok) {
    if (claim.reason === 'not_found' && Date.now() - Date.parse(envelope.timestamp) < RECORD_GRACE_MS) {
      // The API writes the record and the message concurrently; this message overtook its record.
      deps.settle(delivery.release(RECORD_WAIT_MS));
      return;
    }
    // Finished, expired, never accepted, or held by a later attempt: nothing for this delivery to do.
    if (claim.reason === 'conflict' && !isTerminal(claim.current.status)) log.info({ status: claim.current.status }, 'request is held by another attempt: acknowledged');
    else log.info({ status: claim.reason === 'conflict' ? claim.current.status : 'unknown' }, 'delivery of a finished, expired or never-accepted request: acknowledged');
    deps.settle(delivery.ack());
    return;
  }

  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const finish = (to: Status, extra: Partial<TransitionRequest>): Promise<boolean> =>
    store.transition({ id, from: ['PROCESSING'], to, attempt, workerId: deps.workerId, ...extra }).then((r) => r.ok);

  if (attempt > deps.retry.maxAttempts) {
    const error = new HqmError('HQM_ERR_ATTEMPTS_EXHAUSTED', `gave up after ${attempt - 1} deliveries that never finished (workers lost mid-request)`);
    await finish('FAILED', { error: error.message, outcome: failure(error.message, 0) });
    deadLetter(deps, delivery, id, error.message, 'attempts_exhausted');
    events.emit('request:failed', { id, queue: deps.queueName, attempt, error, durationMs: 0 });
    return;
  }

  const deadline = claim.record.deadlineAt;
  if (deadline !== null && Date.now() >= deadline) {
    await timeOut(deps, delivery, { id, attempt, elapsedMs: 0, finish });
    return;
  }

  const deadlineTimer = armDeadline(controller, deadline);
  try {
    const value = await raceAbort(
      deps.processor(envelope, {
        attempt,
        maxAttempts: deps.retry.maxAttempts,
        idempotencyKey: id,
        signal: controller.signal,
        deadline,
        logger: log,
        progress: async (percent) => {
          await store.setProgress(id, attempt, Math.min(100, Math.max(0, percent)));
        },
      }),
      controller.signal,
    );
    const response = value instanceof ProcessorResponse ? value : new ProcessorResponse(value, null, null);
    const outcome: Outcome = {
      result: toJsonResult(response.result),
      statusCode: response.statusCode,
      headers: response.headers,
      processingTimeMs: elapsed(),
      error: null,
      completedAt: Date.now(),
    };
    if (await finish('COMPLETED', { outcome, error: null })) events.emit('request:completed', { id, queue: deps.queueName, attempt, durationMs: outcome.processingTimeMs ?? 0 });
    deps.settle(delivery.ack());
  } catch (thrown) {
    const reason: unknown = controller.signal.aborted ? controller.signal.reason : thrown;
    if (reason instanceof ShutdownAbort) {
      await finish('PENDING', { error: 'released: the worker shut down before the request finished' });
      deps.settle(delivery.release());
      events.emit('request:released', { id, queue: deps.queueName, attempt });
      return;
    }
    if (isHqmError(reason) && reason.code === 'HQM_ERR_DEADLINE_EXCEEDED') {
      await timeOut(deps, delivery, { id, attempt, elapsedMs: elapsed(), finish });
      return;
    }
    const error = coerceError(reason);
    const durationMs = elapsed();
    if (isRetryable(error) && hasAttemptsLeft(deps.retry, attempt)) {
      const delayMs = backoffMs(deps.retry, attempt);
      log.warn({ err: error, retry_in_ms: delayMs }, 'attempt failed; will retry');
      if (await finish('PENDING', { error: error.message })) deps.settle(delivery.retry(delayMs));
      else deps.settle(delivery.ack());
      events.emit('request:retrying', { id, queue: deps.queueName, attempt, delayMs, error, durationMs });
      return;
    }
    log.error({ err: error }, 'request failed');
    if (await finish('FAILED', { error: error.message, outcome: failure(error.message, durationMs) })) {
      deadLetter(deps, delivery, id, error.message, 'processing_failed');
    } else {
      deps.settle(delivery.ack());
    }
    events.emit('request:failed', { id, queue: deps.queueName, attempt, error, durationMs });
  } finally {
    if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
  }
}

async function timeOut(
  deps: AttemptDeps,
  delivery: Delivery,
  at: { id: string; attempt: number; elapsedMs: number; finish: (to: Status, extra: Partial<TransitionRequest>) => Promise<boolean> },
): Promise<void> {
  await at.finish('TIMEOUT', { error: DEADLINE_MESSAGE, outcome: failure(DEADLINE_MESSAGE, at.elapsedMs) });
  deps.settle(delivery.ack());
  deps.events.emit('request:timeout', { id: at.id, queue: deps.queueName, attempt: at.attempt, durationMs: at.elapsedMs });
}

function deadLetter(deps: AttemptDeps, delivery: Delivery, id: string, message: string, reason: DeadLetterReason): void {
  deps.settle(delivery.deadLetter(message));
  deps.events.emit('request:dead_lettered', { id, queue: deps.queueName, reason });
}

function failure(error: string, processingTimeMs: number): Outcome {
  return { result: null, statusCode: null, headers: null, processingTimeMs, error, completedAt: Date.now() };
}

/** Node timers overflow past ~24.8 days; a deadline further away than that is not armed. */
const MAX_TIMER_MS = 2_147_483_647;

function armDeadline(controller: AbortController, deadline: number | null): NodeJS.Timeout | undefined {
  if (deadline === null || deadline - Date.now() > MAX_TIMER_MS) return undefined;
  return setTimeout(() => controller.abort(new HqmError('HQM_ERR_DEADLINE_EXCEEDED', `deadline ${new Date(deadline).toISOString()} passed`)), Math.max(0, deadline - Date.now()));
}

/** Settles as soon as the signal aborts, even if the processor ignores it. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
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

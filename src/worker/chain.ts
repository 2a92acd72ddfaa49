/**
 * The worker's half of request chaining (`metadata.then`, see core/request/chain.ts): when a
 * request completes, submit its follow-up, at least once and never twice.
 *
 * The follow-up's id is known before anything is written (followUpIdOf), so it goes into the
 * COMPLETED write itself (`outcome.nextId`), and the follow-up is submitted after that write
 * and before the delivery is acknowledged. A request that does not complete (cancelled or
 * taken over meanwhile) therefore never chains. A crash or an outage in between leaves the
 * delivery unacknowledged; its redelivery finds the record COMPLETED with a `nextId` and
 * submits the follow-up then (resumeFollowUp). The store refuses a second record with that id,
 * so a repeat is harmless.
 *
 * @module
 */
import type { FieldIssue } from '../core/errors.js';
import { isHqmError } from '../core/errors.js';
import { followUpBody, followUpIdOf, thenIssues, type FollowUpBody } from '../core/request/chain.js';
import type { Envelope } from '../core/request/envelope.js';
import type { RequestRecord } from '../core/request/record.js';
import type { Logger } from '../ports/logger.js';
import type { ResultStore } from '../ports/result-store.js';

/** A follow-up to submit, as the API would accept it from the first request's submitter. */
export interface FollowUp {
  readonly id: string;
  readonly body: FollowUpBody;
  readonly tenant: string | null;
  readonly traceparent: string | null;
  readonly forwarding: Readonly<Record<string, string>>;
}

/**
 * How the worker submits follow-ups. The composition root builds it from the API's own checks
 * and submit path, so a follow-up is validated and stored exactly as a client's submit is.
 */
export interface FollowUps {
  /** What a submit of `body` would refuse, named as a submit names it; empty when it may go. */
  check(body: FollowUpBody): readonly FieldIssue[];
  /** Stores and queues the follow-up under `followUp.id`, as a submit does. */
  submit(followUp: FollowUp): Promise<void>;
}

/** What a completion chains: nothing, a follow-up, or a `then` a submit would refuse (an outside producer's, or the configuration changed). */
export type ChainPlan = { readonly kind: 'none' } | { readonly kind: 'follow-up'; readonly followUp: FollowUp } | { readonly kind: 'refused'; readonly issues: readonly FieldIssue[] };

const MAX_NOTED_ISSUES = 5;

/** Plans the follow-up of `envelope` completing with `result`; the follow-up's trace continues from `traceparent` (the completing attempt's). */
export function planFollowUp(followUps: FollowUps | undefined, envelope: Envelope, result: unknown, traceparent = envelope.traceparent): ChainPlan {
  const then = envelope.metadata.then;
  if (followUps === undefined || then === undefined || then === null) return { kind: 'none' };
  const issues = thenIssues(then, (body) => followUps.check(body));
  if (issues.length > 0) return { kind: 'refused', issues };
  return {
    kind: 'follow-up',
    followUp: {
      id: followUpIdOf(envelope.correlation_id),
      // thenIssues found nothing: `then` has the shape of a ThenSpec.
      body: followUpBody(then, result),
      tenant: envelope.tenant ?? null,
      traceparent,
      forwarding: envelope.forwarding ?? {},
    },
  };
}

/**
 * After the COMPLETED write: submits the planned follow-up unless it exists, and notes it in
 * the trail. Rejects when the backends cannot be reached (the delivery is then handed back and
 * its redelivery resumes here); a follow-up the API refuses for good is noted and given up.
 */
export async function submitFollowUp(deps: { store: ResultStore; followUps: FollowUps; logger: Logger }, parentId: string, plan: ChainPlan): Promise<void> {
  const { store, logger } = deps;
  if (plan.kind === 'none') return;
  if (plan.kind === 'refused') {
    const issues = plan.issues.slice(0, MAX_NOTED_ISSUES).map((i) => ({ path: i.path, message: i.message.slice(0, 200) }));
    logger.warn({ issues }, 'metadata.then is not a valid submit: no follow-up request');
    await note(store, logger, parentId, { kind: 'chain_refused', detail: { issues } });
    return;
  }
  const { followUp } = plan;
  if ((await store.get(followUp.id)) !== undefined) {
    // Submitted by an earlier delivery of this completion, which may have stopped before its note.
    if (!(await store.events(parentId)).some((e) => e.note?.kind === 'chained')) await note(store, logger, parentId, chained(followUp.id));
    return;
  }
  try {
    await deps.followUps.submit(followUp);
  } catch (error) {
    if (isHqmError(error) && error.code === 'HQM_ERR_DUPLICATE_ID') return;
    // A refusal that a retry cannot change (too large for the queue, say): next_id names no request.
    if (isHqmError(error) && !error.retryable) {
      logger.error({ err: error, next_id: followUp.id }, 'the follow-up request (metadata.then) was refused');
      await note(store, logger, parentId, { kind: 'chain_failed', detail: { next_id: followUp.id, code: error.code, error: error.message.slice(0, 500) } });
      return;
    }
    throw error;
  }
  logger.info({ next_id: followUp.id }, 'follow-up request submitted (metadata.then)');
  await note(store, logger, parentId, chained(followUp.id));
}

/** A redelivery that finds its request COMPLETED with a `nextId`: the follow-up may not have been submitted yet. */
export async function resumeFollowUp(deps: { store: ResultStore; followUps: FollowUps | undefined; logger: Logger }, envelope: Envelope, record: RequestRecord): Promise<void> {
  const nextId = record.outcome?.nextId;
  const followUps = deps.followUps;
  if (record.status !== 'COMPLETED' || typeof nextId !== 'string' || followUps === undefined) return;
  const plan = planFollowUp(followUps, envelope, record.outcome?.result ?? null);
  // The plan names the id the COMPLETED write did, being derived the same way from the same id.
  if (plan.kind === 'follow-up' && plan.followUp.id === nextId) await submitFollowUp({ ...deps, followUps }, record.id, plan);
}

function chained(nextId: string): { kind: string; detail: Record<string, unknown> } {
  return { kind: 'chained', detail: { next_id: nextId } };
}

/** Notes are for readers of the trail: one that cannot be written is logged, not retried. */
async function note(store: ResultStore, logger: Logger, id: string, entry: { kind: string; detail: Record<string, unknown> }): Promise<void> {
  await store.appendNote(id, entry).catch((error: unknown) => logger.warn({ err: error, note: entry.kind }, 'could not add a note to the trail'));
}

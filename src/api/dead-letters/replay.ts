/**
 * Replaying a dead letter: the same correlation id back to PENDING with a fresh attempt budget
 * and deadline, its message (with any replacement payload, headers or metadata) back in the
 * queue, the dead letter gone. Two steps, ordered so that a crash or a concurrent replay can
 * neither lose the request nor run it twice at once (D96):
 *
 * 1. **The record** is moved FAILED/TIMEOUT → PENDING by the store's `replay` (compare-and-set);
 *    one that expired is recreated (D97). A record already PENDING is one whose replay stopped
 *    after this step (a crash, a failed publish): the dead letter still being there proves its
 *    message never went out, so the replay goes on from step 2.
 * 2. **The queue** removes the dead letter and publishes its replacement in one atomic step, so
 *    of any number of replays of one dead letter exactly one publishes: the request has one
 *    live message, never two that two workers could run at once.
 *
 * A crash between the steps leaves a PENDING record and the dead letter: replaying again
 * finishes the job (and if nobody does, the record reads as TIMEOUT at its deadline, as any
 * request whose message is gone).
 *
 * @module
 */
import { HqmError, isHqmError } from '../../core/errors.js';
import { partitionOf } from '../../core/partition.js';
import { deadlineOf, encodeEnvelope, normalizeMetadata, sentMetadata, type Envelope } from '../../core/request/envelope.js';
import { canReplay } from '../../core/request/lifecycle.js';
import type { RequestRecord } from '../../core/request/record.js';
import type { OutboundMessage } from '../../ports/queue-backend.js';
import type { RouteContext } from '../context.js';
import { unavailable } from '../accept.js';
import type { SubmitBody } from '../validate.js';
import type { DeadLetterRef } from './ids.js';
import { envelopeOf } from './view.js';

/** Each try reads the record afresh; only concurrent replays and expiries make it loop. */
const MAX_TRIES = 4;

export type Replacement = Partial<SubmitBody>;

/**
 * Replays the dead letter `ref`; resolves to the request's record, now PENDING. The message keeps
 * the request's trace context, so its new attempts join the request's trace; `link` is told that
 * context (the replay's own HTTP span links to it, D202).
 */
export async function replayDeadLetter(ctx: RouteContext, ref: DeadLetterRef, replacement: Replacement, link?: (traceparent: string | null) => void): Promise<RequestRecord> {
  const letter = await ctx.queue.getDeadLetter(ref.backendQueue, ref.id);
  if (letter === undefined) throw deadLetterNotFound();
  const original = envelopeOf(letter);
  if (original === undefined) {
    throw new HqmError('HQM_ERR_NOT_REPLAYABLE', 'this dead letter is not an OpenHQM request (an outside producer\'s message, or undecodable): there is no request to bring back; submit its payload anew instead');
  }
  link?.(original.traceparent);
  const now = Date.now();
  const envelope = replayedEnvelope(ctx, original, replacement, now);
  if (envelope.metadata.queue !== ref.queue) {
    throw new HqmError('HQM_ERR_VALIDATION', `a replay stays on the dead letter's queue "${ref.queue}"; metadata.queue names "${envelope.metadata.queue}"`);
  }
  const message = outboundOf(ctx, envelope);
  const record = await rearm(ctx, envelope, now);
  let published;
  try {
    published = await ctx.queue.replayDeadLetter(ref.backendQueue, ref.id, message);
  } catch (error) {
    // The record stays PENDING and the dead letter stays: a replay tried again finishes this one.
    throw isHqmError(error) && error.code === 'HQM_ERR_BODY_TOO_LARGE' ? error : unavailable(error, 'the queue');
  }
  if (published === undefined) throw deadLetterNotFound(' (replayed or removed meanwhile)');
  ctx.events.emit('request:replayed', { id: record.id, queue: ref.backendQueue, tenant: record.tenant });
  return record;
}

/** The envelope the replay publishes: the original's, with a new timestamp (so a new deadline) and the replacements. */
function replayedEnvelope(ctx: RouteContext, original: Envelope, replacement: Replacement, now: number): Envelope {
  // Absent or null keeps the request's own; metadata given is taken whole, as a submit's.
  const metadata = replacement.metadata ?? undefined;
  const envelope: Envelope = {
    ...original,
    timestamp: new Date(now).toISOString(),
    // A replay runs now: a delayed original's run_at is past, and its deadline would be too.
    run_at: null,
    payload: replacement.payload ?? original.payload,
    headers: replacement.headers ?? original.headers,
    metadata: metadata === undefined ? original.metadata : normalizeMetadata(metadata, { timeout: ctx.options.defaultTimeoutSeconds }),
    metadata_sent: metadata === undefined ? original.metadata_sent : sentMetadata(metadata),
  };
  const partitioning = ctx.options.partitioning;
  const partition = partitioning === undefined ? null : partitionOf(envelope, partitioning);
  return partition === null ? envelope : { ...envelope, metadata: { ...envelope.metadata, partition_key: partition.key } };
}

function outboundOf(ctx: RouteContext, envelope: Envelope): OutboundMessage {
  const partitioning = ctx.options.partitioning;
  const partition = partitioning === undefined ? null : partitionOf(envelope, partitioning);
  const message = { body: encodeEnvelope(envelope), priority: envelope.metadata.priority, partitionKey: partition?.orderingKey ?? null };
  const max = ctx.queue.capabilities.maxMessageBytes;
  if (Buffer.byteLength(message.body) > max) throw new HqmError('HQM_ERR_BODY_TOO_LARGE', `the replayed request is larger than the ${ctx.queue.type} queue accepts (${max} bytes)`);
  return message;
}

/** Step 1: the record PENDING again under the envelope's id and deadline (see the module comment). */
async function rearm(ctx: RouteContext, envelope: Envelope, now: number): Promise<RequestRecord> {
  const { store } = ctx;
  const id = envelope.correlation_id;
  const deadlineAt = deadlineOf(envelope);
  for (let tries = 0; tries < MAX_TRIES; tries += 1) {
    const current = await store.get(id);
    if (current === undefined) {
      // Expired: recreated from the dead letter, a new record (and trail) under the same id (D97).
      const tenant = envelope.tenant ?? null;
      const created = await store
        .create({ id, queue: envelope.metadata.queue, priority: envelope.metadata.priority, submittedAt: now, deadlineAt, ttlMs: ctx.options.ttlMs, tenant })
        .catch((error: unknown) => {
          if (isHqmError(error) && error.code === 'HQM_ERR_DUPLICATE_ID') return undefined; // A concurrent replay made it: look again.
          throw error;
        });
      if (created !== undefined) return created;
      continue;
    }
    if (current.status === 'PENDING') return current;
    if (!canReplay(current.status)) {
      throw new HqmError('HQM_ERR_NOT_REPLAYABLE', `the request is ${current.status}, not FAILED or TIMEOUT: it was replayed already; remove this dead letter instead`, { details: { status: current.status } });
    }
    const moved = await store.replay({ id, deadlineAt });
    if (moved.ok) return moved.record;
  }
  throw new HqmError('HQM_ERR_INTERNAL', `could not replay ${id}: its record kept changing under ${MAX_TRIES} tries`);
}

export function deadLetterNotFound(why = ''): HqmError {
  return new HqmError('HQM_ERR_NOT_FOUND', `Dead letter not found${why}`);
}

/**
 * How a dead letter looks on the wire: the queue's record of it (reason, attempts, when) joined
 * with its request's record and trail while they are kept (status, error code, the last
 * upstream status, each failed attempt's error). A message that is not an OpenHQM request (an
 * outside producer's, or undecodable) has no request to join.
 *
 * @module
 */
import { decodeMessage, type Envelope } from '../../core/request/envelope.js';
import { isReplayEvent } from '../../core/request/lifecycle.js';
import type { RequestEvent, RequestRecord } from '../../core/request/record.js';
import type { DeadLetter } from '../../ports/queue-backend.js';
import type { ResultStore } from '../../ports/result-store.js';
import { errorCodeOf } from '../present.js';
import { publicId } from './ids.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** The request a dead letter carries; undefined for anything but an OpenHQM envelope. */
export function envelopeOf(letter: DeadLetter): Envelope | undefined {
  try {
    const decoded = decodeMessage(letter.body, { timeout: 0, timestamp: iso(letter.deadLetteredAt) });
    return decoded.kind === 'envelope' ? decoded.envelope : undefined;
  } catch {
    return undefined; // Undecodable: dead-lettered as invalid_message.
  }
}

/** The errors of the attempts since the last replay (the current attempt numbers), oldest first. */
export function attemptErrors(trail: readonly RequestEvent[]): Array<{ attempt: number; at: string; error: string }> {
  let start = 0;
  trail.forEach((event, i) => {
    if (isReplayEvent(event)) start = i + 1;
  });
  return trail
    .slice(start)
    .filter((event): event is RequestEvent & { error: string } => event.error !== null && event.attempt > 0)
    .map((event) => ({ attempt: event.attempt, at: iso(event.at), error: event.error }));
}

interface Joined {
  readonly letter: DeadLetter;
  readonly envelope: Envelope | undefined;
  readonly record: RequestRecord | undefined;
  readonly trail: readonly RequestEvent[];
}

/** Reads what a dead letter's view needs from the store (two reads, in parallel). */
export async function join(store: ResultStore, letter: DeadLetter): Promise<Joined> {
  const envelope = envelopeOf(letter);
  if (envelope === undefined) return { letter, envelope, record: undefined, trail: [] };
  const [record, trail] = await Promise.all([store.get(envelope.correlation_id), store.events(envelope.correlation_id)]);
  return { letter, envelope, record, trail: record === undefined ? [] : trail };
}

export function presentDeadLetter(queue: string, joined: Joined) {
  const { letter, envelope, record, trail } = joined;
  return {
    id: publicId(queue, letter.id),
    queue,
    message_id: letter.messageId,
    correlation_id: envelope?.correlation_id ?? null,
    reason: letter.reason,
    error_code: record === undefined ? null : errorCodeOf(record),
    attempts: letter.attempts,
    attempt_errors: attemptErrors(trail),
    status: record?.status ?? null,
    status_code: record?.outcome?.statusCode ?? null,
    dead_lettered_at: iso(letter.deadLetteredAt),
  };
}

/** One dead letter in full: the summary plus what the request carries (header values withheld). */
export function presentDeadLetterDetail(queue: string, joined: Joined) {
  const envelope = joined.envelope;
  return {
    ...presentDeadLetter(queue, joined),
    tenant: envelope?.tenant ?? null,
    payload: envelope?.payload ?? null,
    metadata: envelope?.metadata ?? null,
    header_names: Object.keys(envelope?.headers ?? {}),
  };
}

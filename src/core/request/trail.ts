/**
 * Notes in the audit trail: lines that record something other than a status change. A note is
 * stamped with the status and attempt the record had, so a reader of the trail sees where in
 * the request's life it happened.
 *
 * @module
 */
import type { Status } from './lifecycle.js';
import type { RequestEvent, TrailNote } from './record.js';

/** Bounds a note's serialised detail, so a trail cannot be grown without limit by one caller. */
export const MAX_NOTE_BYTES = 4096;

export function noteEvent(current: { readonly status: Status; readonly attempt: number }, note: TrailNote, at: number): RequestEvent {
  return { at, from: current.status, to: current.status, attempt: current.attempt, workerId: null, error: null, note };
}

/** Whether a trail line is a note rather than a transition. */
export function isNote(event: RequestEvent): boolean {
  return event.note !== undefined;
}

/** The note's detail as stored; throws a plain Error for a detail over MAX_NOTE_BYTES (a caller's bug, not a client's). */
export function encodeNote(note: TrailNote): string {
  const json = JSON.stringify({ kind: note.kind, detail: note.detail });
  if (Buffer.byteLength(json) > MAX_NOTE_BYTES) throw new Error(`trail note '${note.kind}' is larger than ${MAX_NOTE_BYTES} bytes`);
  return json;
}

export function decodeNote(json: string): TrailNote {
  const parsed = JSON.parse(json) as { kind: string; detail: Record<string, unknown> };
  return { kind: parsed.kind, detail: parsed.detail };
}

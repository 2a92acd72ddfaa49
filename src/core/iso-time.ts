/**
 * Epoch milliseconds as ISO-8601 (`Date#toISOString`), remembering the last one: formatting
 * costs about half a microsecond, and a request formats the same instant several times (its
 * envelope's timestamp and its 202's submitted_at), as do requests submitted in the same
 * millisecond.
 *
 * @module
 */
let lastMs = Number.NaN;
let lastText = '';

export function isoTime(ms: number): string {
  if (ms !== lastMs) {
    // Throws a RangeError for an invalid time, as toISOString does (NaN never equals lastMs).
    lastText = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastText;
}

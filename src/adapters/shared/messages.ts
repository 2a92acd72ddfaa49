/** Checks every queue adapter applies to an outbound message the same way. */
import { HqmError } from '../../core/errors.js';
import { PRIORITY_MAX, PRIORITY_MIN } from '../../core/request/envelope.js';

export function clampPriority(priority: number | undefined): number {
  if (priority === undefined || !Number.isFinite(priority)) return PRIORITY_MIN;
  return Math.min(PRIORITY_MAX, Math.max(PRIORITY_MIN, Math.trunc(priority)));
}

/** Rejects a body larger than the backend's limit with HQM_ERR_BODY_TOO_LARGE (413). */
export function assertSize(body: string, max: number): void {
  // A UTF-16 unit encodes to at most 3 UTF-8 bytes, so short bodies skip the byte count.
  if (body.length * 3 <= max) return;
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > max) {
    throw new HqmError('HQM_ERR_BODY_TOO_LARGE', `the message is ${bytes} bytes; this queue accepts at most ${max}`, {
      details: { bytes, max },
    });
  }
}

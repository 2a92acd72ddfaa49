/**
 * AWS SDK failures in the terms of the error catalogue. Every failure of a call to SQS (no
 * connection, a timeout, throttling, a refused credential) becomes HQM_ERR_BACKEND_UNAVAILABLE:
 * a 503 with Retry-After at the API and a back-off in the worker. Which one it was stays in the
 * message, so an operator can tell a missing permission from an outage.
 *
 * @module
 */
import { HqmError, isHqmError } from '../../../core/errors.js';

export function unavailable(message: string, cause?: unknown): HqmError {
  return new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', message, cause === undefined ? {} : { cause });
}

export function translateSqsError(error: unknown, what: string): Error {
  if (isHqmError(error)) return error;
  return unavailable(`${what}: SQS is unavailable (${describe(error)})`, error);
}

/** The SQS error name (QueueDoesNotExist, AWS.SimpleQueueService.NonExistentQueue, …), if the service answered with one. */
export function errorName(error: unknown): string {
  const e = error as { name?: unknown; Code?: unknown } | null;
  return typeof e?.Code === 'string' ? e.Code : typeof e?.name === 'string' ? e.name : '';
}

export function isMissingQueue(error: unknown): boolean {
  return /QueueDoesNotExist|NonExistentQueue/.test(errorName(error));
}

function describe(error: unknown): string {
  const name = errorName(error);
  const message = error instanceof Error ? (error.message.split('\n', 1)[0] ?? '') : String(error);
  const text = name !== '' && name !== 'Error' && !message.includes(name) ? `${name}: ${message}` : message;
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

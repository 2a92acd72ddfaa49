/**
 * ioredis errors in the terms of the error catalogue. Anything that says "Redis cannot answer
 * right now" — a closed or reconnecting connection, a timed-out command, a server loading its
 * AOF, a cluster without a master for a slot — becomes HQM_ERR_BACKEND_UNAVAILABLE (503 with
 * Retry-After at the API, a back-off in the worker). A reply error that means our own command
 * was wrong stays what it is, so it surfaces as a fault instead of being retried forever.
 *
 * @module
 */
import { HqmError, isHqmError } from '../../../core/errors.js';

/** Reply errors a later retry can succeed after (the server is loading, failing over, busy, full). */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|OOM|NOREPLICAS|MISCONF|MOVED|ASK)\b/;

export function translateRedisError(error: unknown, what: string): unknown {
  if (isHqmError(error) || !(error instanceof Error)) return error;
  if (error.name === 'ReplyError' && !TRANSIENT_REPLY.test(error.message)) return error;
  return unavailable(`${what}: Redis is unavailable (${firstLine(error.message)})`, error);
}

export function unavailable(message: string, cause?: unknown): HqmError {
  return new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', message, cause === undefined ? {} : { cause });
}

/** Awaits a driver call, translating its failure. */
export async function guarded<T>(what: string, operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    throw translateRedisError(error, what);
  }
}

function firstLine(message: string): string {
  const line = message.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

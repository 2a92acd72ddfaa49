/**
 * `pg` errors in the terms of the error catalogue. Anything that says "PostgreSQL cannot answer
 * right now" — a refused or dropped connection, a timed-out query or connect, a server shutting
 * down or starting up, too many connections, a deadlock or serialization failure — becomes
 * HQM_ERR_BACKEND_UNAVAILABLE (503 with Retry-After at the API, a back-off in the worker). An
 * error that means our own statement was wrong stays what it is, so it surfaces as a fault
 * instead of being retried forever.
 *
 * @module
 */
import { HqmError, isHqmError } from '../../../core/errors.js';

/**
 * SQLSTATE classes a later retry can succeed after: 08 connection exception, 40 transaction
 * rollback (deadlock, serialization), 53 insufficient resources, 57 operator intervention
 * (shutdown, crash recovery, statement timeout), 58 system error.
 */
const TRANSIENT_CLASS = /^(08|40|53|57|58)/;
const SQLSTATE = /^[0-9A-Z]{5}$/;

export function translatePgError(error: unknown, what: string): unknown {
  if (isHqmError(error) || !(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  // A server error with a SQLSTATE outside the transient classes is our bug (or a constraint the caller handles).
  if (typeof code === 'string' && SQLSTATE.test(code) && !TRANSIENT_CLASS.test(code)) return error;
  // Everything else the driver throws is about the connection: refused, reset, terminated, timed out.
  return unavailable(`${what}: PostgreSQL is unavailable (${firstLine(error.message)})`, error);
}

export function unavailable(message: string, cause?: unknown): HqmError {
  return new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', message, cause === undefined ? {} : { cause });
}

/** Whether `error` is PostgreSQL's unique_violation (a duplicate key). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === '23505';
}

function firstLine(message: string): string {
  const line = message.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

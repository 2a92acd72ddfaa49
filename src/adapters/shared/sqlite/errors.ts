/** SQLite driver errors in the terms of the error catalogue. */
import { HqmError, isHqmError } from '../../../core/errors.js';

const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|PROTOCOL|NOLFS|CORRUPT|NOTADB)/;

export function translateSqliteError(error: unknown): unknown {
  if (isHqmError(error)) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && UNAVAILABLE.test(code)) {
    return new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', `SQLite is unavailable (${code})`, { cause: error, details: { code } });
  }
  return error;
}

export function isConstraintViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT');
}

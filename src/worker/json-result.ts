/**
 * A processor may return anything; what is stored must be plain JSON that round-trips exactly.
 * Dates become strings and undefined properties vanish, as JSON.stringify does; a value that
 * cannot be JSON at all (a function, a symbol, a bigint, a cycle, a lone surrogate) fails the
 * request permanently — JSON.stringify would quietly drop a function, or store it as null.
 * So does a result whose JSON is larger than `worker.max_result_bytes` (HQM_ERR_RESULT_TOO_LARGE):
 * the store would hold it for the whole TTL, and every read would send it again.
 *
 * @module
 */
import { HqmError } from '../core/errors.js';
import { findJsonProblem } from '../core/json-limits.js';

const MAX_RESULT_DEPTH = 1000;
/** `worker.max_result_bytes` by default: 16 MiB. */
export const DEFAULT_MAX_RESULT_BYTES = 16 * 1024 * 1024;
/** Longest JSON text one UTF-16 unit of a string can become (`\u001f`). */
const MAX_ESCAPED_UNIT = 6;

export function toJsonResult(value: unknown, maxBytes = DEFAULT_MAX_RESULT_BYTES): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    if (value.length * MAX_ESCAPED_UNIT + 2 > maxBytes) assertSize(JSON.stringify(value), maxBytes);
    return checked(value);
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value, refuseCode);
  } catch (cause) {
    // V8 cannot build a string that long (about 512 MiB): larger than any limit we allow.
    if (cause instanceof RangeError && /string length/i.test(cause.message)) throw tooLarge(undefined, maxBytes, cause);
    throw new HqmError('HQM_ERR_PROCESSOR_RESULT', `the processor returned a value that is not JSON: ${(cause as Error).message}`, { cause });
  }
  if (text === undefined) return null;
  assertSize(text, maxBytes);
  return checked(JSON.parse(text) as unknown);
}

function assertSize(json: string, maxBytes: number): void {
  // A UTF-16 unit encodes to at most 3 UTF-8 bytes, so short texts skip the byte count.
  if (json.length * 3 <= maxBytes) return;
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxBytes) throw tooLarge(bytes, maxBytes);
}

function tooLarge(bytes: number | undefined, maxBytes: number, cause?: unknown): HqmError {
  const size = bytes === undefined ? 'too large to encode' : `${bytes} bytes as JSON`;
  return new HqmError('HQM_ERR_RESULT_TOO_LARGE', `the processor's result is ${size}; worker.max_result_bytes allows ${maxBytes}`, {
    cause,
    details: { ...(bytes === undefined ? {} : { bytes }), max: maxBytes },
  });
}

function refuseCode(key: string, value: unknown): unknown {
  if (typeof value === 'function' || typeof value === 'symbol') throw new TypeError(`${key === '' ? 'the result' : `the value at key "${key}"`} is a ${typeof value}`);
  return value;
}

function checked(value: unknown): unknown {
  const problem = findJsonProblem(value, MAX_RESULT_DEPTH);
  if (problem !== undefined) {
    const where = problem.path === '' ? 'the result' : `result.${problem.path}`;
    throw new HqmError('HQM_ERR_PROCESSOR_RESULT', `the processor returned a value that cannot be stored: ${where}: ${problem.message}`);
  }
  return value;
}

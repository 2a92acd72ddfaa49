/**
 * A processor may return anything; what is stored must be plain JSON that round-trips exactly.
 * Dates become strings and undefined properties vanish, as JSON.stringify does; a value that
 * cannot be JSON at all (a function, a symbol, a bigint, a cycle, a lone surrogate) fails the
 * request permanently — JSON.stringify would quietly drop a function, or store it as null.
 *
 * @module
 */
import { HqmError } from '../core/errors.js';
import { findJsonProblem } from '../core/json-limits.js';

const MAX_RESULT_DEPTH = 1000;

export function toJsonResult(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return checked(value);
  let text: string | undefined;
  try {
    text = JSON.stringify(value, refuseCode);
  } catch (cause) {
    throw new HqmError('HQM_ERR_PROCESSOR_RESULT', `the processor returned a value that is not JSON: ${(cause as Error).message}`, { cause });
  }
  return text === undefined ? null : checked(JSON.parse(text) as unknown);
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

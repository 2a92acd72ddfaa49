/**
 * JSONata transforms: compiled once at load, evaluated in-process (microseconds per message).
 * JSONata's own guardrails bound each evaluation: time (a non-terminating tail recursion would
 * otherwise starve the event loop with microtasks), recursion depth and sequence length.
 *
 * @module
 */
import jsonata from 'jsonata';
import { TRANSFORM_TIMEOUT_MS, TransformCompileError, type Transform } from './types.js';

const GUARDRAILS = { timeout: TRANSFORM_TIMEOUT_MS, stack: 1000, sequence: 1_000_000 };

export function compileJsonata(expression: string): Transform {
  let compiled: ReturnType<typeof jsonata>;
  try {
    compiled = jsonata(expression, GUARDRAILS);
  } catch (error) {
    throw new TransformCompileError(describe(error));
  }
  return async (message) => {
    try {
      const result: unknown = await compiled.evaluate(message);
      return result === undefined ? null : result;
    } catch (error) {
      throw new Error(`JSONata failed: ${describe(error)}`);
    }
  };
}

function describe(error: unknown): string {
  const e = error as { message?: string; position?: number; token?: string };
  return e.position === undefined ? (e.message ?? String(error)) : `${e.message ?? 'error'} (at position ${e.position})`;
}

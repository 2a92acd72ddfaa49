/** JSONata transforms: compiled once at load, evaluated in-process (microseconds per message). */
import jsonata from 'jsonata';
import { TransformCompileError, type Transform } from './types.js';

export function compileJsonata(expression: string): Transform {
  let compiled: ReturnType<typeof jsonata>;
  try {
    compiled = jsonata(expression);
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

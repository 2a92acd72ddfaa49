/**
 * JSONPath transforms (jsonpath-plus, with its safe evaluator for filter expressions). As in
 * the original: one match is the value itself, several are a list, and anything that is not
 * an object is wrapped as `{result: …}`.
 *
 * @module
 */
import { JSONPath } from 'jsonpath-plus';
import { TransformCompileError, type Transform } from './types.js';

export function compileJsonPath(path: string): Transform {
  const query = (json: unknown): unknown[] => JSONPath<unknown[]>({ path, json: json as object, wrap: true, eval: 'safe' });
  try {
    query({}); // jsonpath-plus parses lazily: a malformed path throws here.
  } catch (error) {
    throw new TransformCompileError((error as Error).message);
  }
  return async (message) => {
    let matches: unknown[];
    try {
      matches = query(message) ?? [];
    } catch (error) {
      throw new Error(`JSONPath failed: ${(error as Error).message}`);
    }
    const value = matches.length === 1 ? matches[0] : matches;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : { result: value };
  };
}

/**
 * JSONPath transforms (jsonpath-plus). As in the original: one match is the value itself,
 * several are a list, and anything that is not an object is wrapped as `{result: …}`.
 *
 * Filter and script expressions (`[?(@.price < 10)]`, `[(@.length-1)]`) run on jsonpath-plus's
 * safe evaluator, restricted further: no method calls and no regex literals. Its evaluator
 * calls any method of a value, so `@.name.match(/(a+)+$/)` would backtrack for seconds on the
 * event loop and `@.name.repeat(1e9)` would allocate a gigabyte; the original's JSONPath
 * (jsonpath_ng) had neither, so comparisons and arithmetic are all a routes file needs.
 *
 * @module
 */
import { JSONPath } from 'jsonpath-plus';
import { TransformCompileError, type Transform } from './types.js';

interface ScriptLike {
  readonly ast: unknown;
  runInNewContext(context: object): unknown;
}

const SafeScript = (JSONPath as unknown as { prototype: { safeVm: { Script: new (code: string) => ScriptLike } } }).prototype.safeVm.Script;

/** jsonpath-plus's safe evaluator, refusing the expressions it would run unbounded. */
class RestrictedScript {
  readonly #script: ScriptLike;

  constructor(code: string) {
    this.#script = new SafeScript(code);
    assertAllowed(this.#script.ast, code);
  }

  runInNewContext(context: object): unknown {
    return this.#script.runInNewContext(context);
  }
}

function assertAllowed(ast: unknown, shown: string): void {
  const refused = refusedConstruct(ast);
  if (refused !== undefined) throw new Error(`${refused} are not allowed in JSONPath expressions: ${shown}`);
}

function refusedConstruct(node: unknown): string | undefined {
  if (typeof node !== 'object' || node === null) return undefined;
  const n = node as { type?: unknown; value?: unknown };
  if (n.type === 'CallExpression') return 'method calls';
  if (n.type === 'Literal' && n.value instanceof RegExp) return 'regular expressions';
  for (const child of Object.values(node)) {
    const found = refusedConstruct(child);
    if (found !== undefined) return found;
  }
  return undefined;
}

export function compileJsonPath(path: string): Transform {
  const query = (json: unknown): unknown[] => JSONPath<unknown[]>({ path, json: json as object, wrap: true, eval: RestrictedScript });
  try {
    query({}); // jsonpath-plus parses lazily: a malformed path throws here.
    // Expressions are parsed only when a value reaches them: check each one now.
    for (const segment of JSONPath.toPathArray(path)) {
      const expression = /^\??\((.*)\)$/s.exec(segment)?.[1];
      if (expression !== undefined) assertAllowed(new SafeScript(expression.replace(/@(?:parentProperty|parent|property|root|path)?/g, '_$$_v')).ast, segment);
    }
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

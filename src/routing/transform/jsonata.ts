/**
 * JSONata transforms: compiled once at load, evaluated in-process (microseconds per message).
 * JSONata's own guardrails bound each evaluation: time (a non-terminating tail recursion would
 * otherwise starve the event loop with microtasks), recursion depth and sequence length. Its
 * guardrails cannot interrupt one regex match, so its regex literals (`$match(s, /(a+)+$/)`)
 * run on the same linear-time engine as the routes' regexes (routes/regex.ts), and one that
 * could backtrack catastrophically is refused at load.
 *
 * @module
 */
import jsonata from 'jsonata';
import { compileSafePattern, PatternError, type SafePattern } from '../routes/regex.js';
import { TRANSFORM_TIMEOUT_MS, TransformCompileError, type Transform } from './types.js';

const GUARDRAILS = { timeout: TRANSFORM_TIMEOUT_MS, stack: 1000, sequence: 1_000_000 };

export function compileJsonata(expression: string): Transform {
  const patterns = new Map<string, SafePattern>();
  let compiled: ReturnType<typeof jsonata>;
  try {
    compiled = jsonata(expression, { ...GUARDRAILS, RegexEngine: regexEngine(patterns) });
    checkRegexLiterals(compiled.ast(), patterns);
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

const keyOf = (re: RegExp): string => `${re.flags}/${re.source}`;

/** Compiles every regex literal of the expression into `patterns`; throws for one that is not safe. */
function checkRegexLiterals(ast: unknown, patterns: Map<string, SafePattern>): void {
  const seen = new Set<object>();
  const visit = (node: unknown): void => {
    if (typeof node !== 'object' || node === null || seen.has(node)) return;
    seen.add(node);
    if (node instanceof RegExp) {
      try {
        patterns.set(keyOf(node), compileSafePattern(node.source, { flavor: 'javascript', anchored: false, flags: node.flags }));
      } catch (error) {
        if (error instanceof PatternError) throw new Error(`regex /${node.source}/ is refused: ${error.message}`);
        throw error;
      }
      return;
    }
    for (const child of Object.values(node)) visit(child);
  };
  visit(ast);
}

/**
 * The RegExp stand-in JSONata constructs for each regex it evaluates: it reads `lastIndex`
 * and calls `exec`, as on a global RegExp.
 */
function regexEngine(patterns: ReadonlyMap<string, SafePattern>): RegExpConstructor {
  class SafeRegexEngine {
    lastIndex = 0;
    readonly #pattern: SafePattern;

    constructor(re: RegExp) {
      const pattern = patterns.get(keyOf(re));
      // Every literal was compiled at load; a regex from elsewhere is refused rather than run.
      if (pattern === undefined) throw new Error(`regex /${re.source}/ was not checked at load`);
      this.#pattern = pattern;
    }

    exec(text: string): RegExpExecArray | null {
      const match = this.#pattern.exec(text, this.lastIndex);
      if (match === null) {
        this.lastIndex = 0;
        return null;
      }
      this.lastIndex = match.end;
      return Object.assign([match.text, ...match.groups], { index: match.index, input: text }) as RegExpExecArray;
    }
  }
  return SafeRegexEngine as unknown as RegExpConstructor;
}

function describe(error: unknown): string {
  const e = error as { message?: string; position?: number; token?: string };
  return e.position === undefined ? (e.message ?? String(error)) : `${e.message ?? 'error'} (at position ${e.position})`;
}

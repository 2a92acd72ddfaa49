/**
 * Regular expressions that come from a routes file or a request (match_pattern, condition
 * regexes, JSONata regex literals), compiled so that no input can make one match run for
 * longer than linear time: a backtracking engine given `(a+)+$` and 31 `a`s and a `!` runs for
 * seconds, doubling per character, on the event loop that serves every request.
 *
 * RE2 (re2js, pure JavaScript) runs every pattern it can express. Backreferences and lookahead
 * it cannot; a pattern that needs them keeps JavaScript's engine only when it shows no sign of
 * catastrophic backtracking: safe-regex2 (star height at most 1) and no repeated group holding
 * alternatives (`(a|a)*\1`, which safe-regex2 passes). Anything else is refused with a
 * PatternError saying why.
 *
 * @module
 */
import { RE2JS } from 're2js';
import safeRegex from 'safe-regex2';

/** The syntax a pattern is written in: Python's `re` (routes files of the original) or JavaScript's (JSONata). */
export type Flavor = 'python' | 'javascript';

export interface PatternOptions {
  readonly flavor: Flavor;
  /** Match at the start only, like Python's re.match. */
  readonly anchored: boolean;
  /** JavaScript flags (`i`, `m`, `s`); others are ignored. */
  readonly flags?: string;
}

export interface PatternMatch {
  readonly index: number;
  readonly end: number;
  readonly text: string;
  /** Capture groups 1…n; undefined for one that did not take part. */
  readonly groups: readonly (string | undefined)[];
}

export interface SafePattern {
  readonly engine: 're2' | 'javascript';
  test(text: string): boolean;
  /** The first match at or after `from` (unanchored patterns). */
  exec(text: string, from: number): PatternMatch | null;
}

/** The pattern does not compile, or could backtrack catastrophically. */
export class PatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatternError';
  }
}

export function compileSafePattern(source: string, options: PatternOptions): SafePattern {
  const shape = analyse(source);
  const flags = options.flags ?? '';
  if (!shape.needsBacktracking) {
    try {
      return re2Pattern(source, options, flags);
    } catch (error) {
      // RE2 runs lookbehinds without captures only; any other refusal is the pattern's fault.
      if (!shape.lookbehind) throw new PatternError((error as Error).message);
    }
  }
  let js: RegExp;
  try {
    js = jsRegExp(source, options, flags);
  } catch (error) {
    throw new PatternError((error as Error).message);
  }
  if (shape.repeatsAlternation || !safeRegex(js)) {
    throw new PatternError(
      `it uses a backreference or lookahead, which only a backtracking engine runs, and it repeats a group that can match the same text in more than one way (nested quantifiers or alternatives under a quantifier), which can take exponential time; rewrite it without the backreference or lookahead, or without the nested repetition`,
    );
  }
  return jsPattern(js);
}

function re2Pattern(source: string, options: PatternOptions, flags: string): SafePattern {
  let bits = RE2JS.LOOKBEHINDS;
  if (flags.includes('i')) bits |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) bits |= RE2JS.MULTILINE;
  if (flags.includes('s')) bits |= RE2JS.DOTALL;
  // JavaScript-only escapes (\uXXXX, \cX, (?<name>…)) in RE2's spelling; Python's are RE2's already.
  const re = RE2JS.compile(RE2JS.translateRegExp(source), bits);
  const groupCount = re.groupCount();
  return {
    engine: 're2',
    test: options.anchored ? (text) => re.matcher(text).lookingAt() : (text) => re.test(text),
    exec(text, from) {
      const matcher = re.matcher(text);
      if (!matcher.find(from)) return null;
      const groups: (string | undefined)[] = [];
      for (let g = 1; g <= groupCount; g += 1) groups.push(matcher.group(g) ?? undefined);
      return { index: matcher.start(), end: matcher.end(), text: matcher.group() ?? '', groups };
    },
  };
}

function jsRegExp(source: string, options: PatternOptions, flags: string): RegExp {
  const js = options.flavor === 'python' ? source.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>') : source;
  const kept = [...new Set(flags)].filter((f) => 'ims'.includes(f)).join('');
  return new RegExp(options.anchored ? `^(?:${js})` : js, `${kept}g`);
}

function jsPattern(re: RegExp): SafePattern {
  return {
    engine: 'javascript',
    test(text) {
      re.lastIndex = 0;
      return re.test(text);
    },
    exec(text, from) {
      re.lastIndex = from;
      const match = re.exec(text);
      if (match === null) return null;
      return { index: match.index, end: match.index + match[0].length, text: match[0], groups: match.slice(1) };
    },
  };
}

interface Shape {
  /** Uses a construct only a backtracking engine runs: a backreference or lookahead. */
  readonly needsBacktracking: boolean;
  /** Uses a lookbehind, which RE2 runs only when it captures nothing. */
  readonly lookbehind: boolean;
  /** Repeats (`*`, `+`, `{…}`) a group that holds `|`, directly or in a nested group. */
  readonly repeatsAlternation: boolean;
}

/** One pass over the pattern's tokens, skipping escapes and character classes. */
function analyse(source: string): Shape {
  let needsBacktracking = false;
  let repeatsAlternation = false;
  let lookbehind = false;
  const open: boolean[] = []; // per open group: whether it holds a `|`
  let inClass = false;
  for (let i = 0; i < source.length; i += 1) {
    const ch = source[i];
    if (ch === '\\') {
      const next = source[i + 1] ?? '';
      if (!inClass && /[1-9k]/.test(next)) needsBacktracking = true;
      i += 1;
    } else if (inClass) {
      if (ch === ']') inClass = false;
    } else if (ch === '[') {
      inClass = true;
    } else if (ch === '(') {
      if (/^\(\?(?:=|!|P=)/.test(source.slice(i, i + 4))) needsBacktracking = true;
      if (/^\(\?<[=!]/.test(source.slice(i, i + 4))) lookbehind = true;
      open.push(false);
    } else if (ch === '|') {
      if (open.length > 0) open[open.length - 1] = true;
    } else if (ch === ')') {
      const alternated = open.pop() ?? false;
      if (alternated) {
        if (/[*+{]/.test(source[i + 1] ?? '')) repeatsAlternation = true;
        if (open.length > 0) open[open.length - 1] = true;
      }
    }
  }
  return { needsBacktracking, lookbehind, repeatsAlternation };
}

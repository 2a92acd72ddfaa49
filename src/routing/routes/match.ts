/**
 * Does a message match a route? As the original: a default route matches anything; a route
 * without criteria matches anything; otherwise the value at `match_field` must equal
 * `match_value` or match `match_pattern` (anchored at the start, like Python's re.match).
 * A route's `conditions` (route-manager format) must also hold, all (AND, the default) or any.
 *
 * @module
 */
import { asText, getPath } from '../../core/paths.js';
import type { Transform, TransformContext } from '../transform/types.js';
import { compileSafePattern, type SafePattern } from './regex.js';

export interface Condition {
  readonly source: 'payload' | 'header' | 'metadata' | 'jq';
  readonly field: string | undefined;
  readonly operator: 'equals' | 'contains' | 'regex' | 'exists' | 'jq';
  readonly value: unknown;
  readonly pattern: SafePattern | undefined;
  readonly jq: Transform | undefined;
}

export interface Matcher {
  readonly field: string | null;
  readonly value: string | null;
  readonly pattern: SafePattern | null;
  readonly conditions: readonly Condition[];
  readonly any: boolean;
}

export async function matches(matcher: Matcher, message: Record<string, unknown>, ctx: TransformContext): Promise<boolean> {
  if (!matchesField(matcher, message)) return false;
  if (matcher.conditions.length === 0) return true;
  for (const condition of matcher.conditions) {
    const ok = await holds(condition, message, ctx);
    if (ok && matcher.any) return true;
    if (!ok && !matcher.any) return false;
  }
  return !matcher.any;
}

function matchesField(matcher: Matcher, message: Record<string, unknown>): boolean {
  if (matcher.field === null) return true;
  const value = getPath(message, matcher.field);
  if (value === undefined || value === null) return false;
  if (matcher.value !== null) return asText(value) === matcher.value;
  if (matcher.pattern !== null) return matcher.pattern.test(asText(value));
  return false;
}

async function holds(condition: Condition, message: Record<string, unknown>, ctx: TransformContext): Promise<boolean> {
  if (condition.source === 'jq' || condition.operator === 'jq') {
    if (condition.jq === undefined) return false;
    try {
      return Boolean(await condition.jq(message.payload, ctx));
    } catch {
      return false;
    }
  }
  const actual = lookup(condition, message);
  switch (condition.operator) {
    case 'exists':
      return actual !== undefined && actual !== null;
    case 'equals':
      return actual === condition.value || (actual !== undefined && asText(actual) === asText(condition.value));
    case 'contains':
      return actual !== undefined && actual !== null && asText(actual).includes(asText(condition.value));
    case 'regex':
      return actual !== undefined && actual !== null && condition.pattern !== undefined && condition.pattern.test(asText(actual));
  }
}

function lookup(condition: Condition, message: Record<string, unknown>): unknown {
  const field = condition.field ?? '';
  if (condition.source === 'header') {
    const headers = (message.headers ?? {}) as Record<string, unknown>;
    const wanted = field.toLowerCase();
    const name = Object.keys(headers).find((h) => h.toLowerCase() === wanted);
    return name === undefined ? undefined : headers[name];
  }
  return getPath(condition.source === 'payload' ? message.payload : message.metadata, field);
}

/**
 * Compiles a regex written for Python's `re` (the original's engine) in linear time where it
 * can (see regex.ts); `anchored` reproduces re.match. Throws PatternError.
 */
export function compilePattern(pattern: string, anchored: boolean): SafePattern {
  return compileSafePattern(pattern, { flavor: 'python', anchored });
}

/**
 * Checks a parsed JSON value against the limits the gateway promises to keep: bounded nesting,
 * finite numbers, and well-formed UTF-16 (a lone surrogate cannot be stored or echoed back as
 * valid UTF-8, so it is refused at the door). Iterative, so hostile depth cannot overflow the stack.
 *
 * @module
 */

export interface JsonProblem {
  /** Dotted path to the offending value (`payload.items.3.name`); empty for the root. */
  readonly path: string;
  readonly kind: 'depth' | 'value' | 'key';
  readonly message: string;
}

export interface JsonCheckOptions {
  /**
   * Refuse keys that would poison a prototype when the value is merged into another object:
   * `__proto__`, and `constructor` holding an object with a `prototype` key (what
   * secure-json-parse refuses; checked here in the same walk instead of by scanning the text).
   */
  readonly forbidPrototypeKeys?: boolean;
}

/**
 * Returns the first problem found, or undefined when the value is within limits. Depth counts
 * containers: `{}` is depth 1, `{"a": []}` is depth 2; scalars add nothing.
 */
export function findJsonProblem(value: unknown, maxDepth: number, options: JsonCheckOptions = {}): JsonProblem | undefined {
  // Fast pass without paths and without an allocation per value (it runs on every submit); the
  // rare failure is located again with paths below.
  const forbid = options.forbidPrototypeKeys === true;
  if (typeof value !== 'object' || value === null) return scalarOk(value) ? undefined : locate(value, maxDepth, forbid);
  const containers: object[] = [value];
  const depths: number[] = [1];
  while (containers.length > 0) {
    const current = containers.pop() as object;
    const depth = depths.pop() as number;
    if (depth > maxDepth) return locate(value, maxDepth, forbid);
    if (Array.isArray(current)) {
      for (const item of current as unknown[]) {
        if (typeof item === 'object' && item !== null) {
          containers.push(item);
          depths.push(depth + 1);
        } else if (!scalarOk(item)) return locate(value, maxDepth, forbid);
      }
      continue;
    }
    for (const key in current) {
      if (!key.isWellFormed() || (forbid && isPrototypeKey(current, key))) return locate(value, maxDepth, forbid);
      const item = (current as Record<string, unknown>)[key];
      if (typeof item === 'object' && item !== null) {
        containers.push(item);
        depths.push(depth + 1);
      } else if (!scalarOk(item)) return locate(value, maxDepth, forbid);
    }
  }
  return undefined;
}

function scalarOk(value: unknown): boolean {
  if (typeof value === 'string') return value.isWellFormed();
  if (typeof value === 'number') return Number.isFinite(value);
  return true;
}

function isPrototypeKey(container: object, key: string): boolean {
  if (key === '__proto__') return true;
  if (key !== 'constructor') return false;
  const held = (container as Record<string, unknown>)[key];
  return typeof held === 'object' && held !== null && Object.hasOwn(held, 'prototype');
}

function describeScalarProblem(value: unknown): string | undefined {
  if (typeof value === 'string') return value.isWellFormed() ? undefined : 'contains a lone UTF-16 surrogate';
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'is a number outside the IEEE-754 double range';
  return undefined;
}

function locate(root: unknown, maxDepth: number, forbid: boolean): JsonProblem {
  const stack: Array<readonly [unknown, number, string]> = [[root, 0, '']];
  while (stack.length > 0) {
    const [current, depth, path] = stack.pop() as readonly [unknown, number, string];
    const scalar = describeScalarProblem(current);
    if (scalar !== undefined) return { path, kind: 'value', message: `value ${scalar}` };
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > maxDepth) return { path, kind: 'depth', message: `nesting is deeper than ${maxDepth} levels` };
    const entries = Array.isArray(current) ? current.map((v, i) => [String(i), v] as const) : Object.entries(current);
    for (const [key, child] of entries) {
      if (!key.isWellFormed()) return { path, kind: 'key', message: 'an object key contains a lone UTF-16 surrogate' };
      const at = path === '' ? key : `${path}.${key}`;
      if (forbid && !Array.isArray(current) && isPrototypeKey(current, key)) return { path: at, kind: 'key', message: 'keys named __proto__, or constructor with a prototype key, are not accepted' };
      stack.push([child, depth + 1, at]);
    }
  }
  return { path: '', kind: 'value', message: 'invalid JSON value' };
}

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

type Frame = readonly [value: unknown, depth: number];

/**
 * Returns the first problem found, or undefined when the value is within limits. Depth counts
 * containers: `{}` is depth 1, `{"a": []}` is depth 2; scalars add nothing.
 */
export function findJsonProblem(value: unknown, maxDepth: number): JsonProblem | undefined {
  // Fast pass without paths; the rare failure is located again with paths below.
  const stack: Frame[] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as Frame;
    if (describeScalarProblem(current) !== undefined) return locate(value, maxDepth);
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > maxDepth) return locate(value, maxDepth);
    if (Array.isArray(current)) {
      for (const item of current) stack.push([item, depth + 1]);
    } else {
      for (const key in current) {
        if (!key.isWellFormed()) return locate(value, maxDepth);
        stack.push([(current as Record<string, unknown>)[key], depth + 1]);
      }
    }
  }
  return undefined;
}

function describeScalarProblem(value: unknown): string | undefined {
  if (typeof value === 'string') return value.isWellFormed() ? undefined : 'contains a lone UTF-16 surrogate';
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'is a number outside the IEEE-754 double range';
  return undefined;
}

function locate(root: unknown, maxDepth: number): JsonProblem {
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
      stack.push([child, depth + 1, path === '' ? key : `${path}.${key}`]);
    }
  }
  return { path: '', kind: 'value', message: 'invalid JSON value' };
}

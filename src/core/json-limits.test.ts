import { describe, expect, it } from 'vitest';
import { findJsonProblem } from './json-limits.js';

describe('findJsonProblem', () => {
  const nest = (depth: number): unknown => (depth === 1 ? [] : [nest(depth - 1)]);

  it('accepts values within the depth limit, counting containers only', () => {
    expect(findJsonProblem(nest(5), 5)).toBeUndefined();
    expect(findJsonProblem({ a: 'x', b: 1, c: null, d: true }, 1)).toBeUndefined();
    expect(findJsonProblem('scalar', 0)).toBeUndefined();
  });

  it('names the path where the nesting gets too deep', () => {
    expect(findJsonProblem({ payload: { a: [{}] } }, 3)).toEqual({ path: 'payload.a.0', kind: 'depth', message: 'nesting is deeper than 3 levels' });
  });

  it('finds lone surrogates in values and keys', () => {
    expect(findJsonProblem({ ok: '😀', bad: ['\ud800'] }, 10)).toEqual({ path: 'bad.0', kind: 'value', message: 'value contains a lone UTF-16 surrogate' });
    expect(findJsonProblem({ ['\udc00']: 1 }, 10)?.message).toMatch(/key contains a lone/);
  });

  it('refuses non-finite numbers', () => {
    expect(findJsonProblem({ n: Number.POSITIVE_INFINITY }, 10)?.path).toBe('n');
  });

  it('handles depth far beyond the stack without throwing', () => {
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    expect(findJsonProblem(deep, 64)?.message).toMatch(/deeper than 64/);
  });
});

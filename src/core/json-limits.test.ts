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

describe('findJsonProblem with forbidPrototypeKeys', () => {
  const forbid = { forbidPrototypeKeys: true } as const;

  it('refuses __proto__ keys and constructor objects holding a prototype, anywhere, naming the key', () => {
    expect(findJsonProblem(JSON.parse('{"payload": {"__proto__": {"x": 1}}}'), 10, forbid)).toEqual({
      path: 'payload.__proto__',
      kind: 'key',
      message: expect.stringContaining('__proto__'),
    });
    expect(findJsonProblem(JSON.parse('{"a": [{"constructor": {"prototype": {}}}]}'), 10, forbid)?.path).toBe('a.0.constructor');
    // Spelled with escapes, it is the same key once parsed.
    expect(findJsonProblem(JSON.parse('{"\\u005f_proto__": 1}'), 10, forbid)?.path).toBe('__proto__');
  });

  it('accepts a constructor that holds no prototype, and leaves prototype keys alone without the option', () => {
    expect(findJsonProblem({ constructor: 'Ada', b: { constructor: { name: 'x' } } }, 10, forbid)).toBeUndefined();
    expect(findJsonProblem(JSON.parse('{"__proto__": {}}'), 10)).toBeUndefined();
  });

  it('still finds the other problems', () => {
    expect(findJsonProblem({ a: [1, 'ok', { b: Number.NaN }] }, 10, forbid)?.path).toBe('a.2.b');
    expect(findJsonProblem([[['\ud800']]], 10, forbid)?.path).toBe('0.0.0');
    expect(findJsonProblem(Number.NaN, 10, forbid)).toMatchObject({ path: '', kind: 'value' });
  });
});

import { describe, expect, it } from 'vitest';
import { isHqmError } from '../core/errors.js';
import { toJsonResult } from './json-result.js';

const refusal = (value: unknown): string => {
  try {
    toJsonResult(value);
  } catch (error) {
    if (isHqmError(error) && error.code === 'HQM_ERR_PROCESSOR_RESULT') return error.message;
    throw error;
  }
  throw new Error('accepted');
};

describe('toJsonResult', () => {
  it('keeps plain JSON, turns dates into strings and drops undefined properties, as JSON does', () => {
    expect(toJsonResult({ a: 1, b: [true, null, 'x'], c: undefined, d: new Date(0) })).toEqual({ a: 1, b: [true, null, 'x'], d: '1970-01-01T00:00:00.000Z' });
    expect(toJsonResult(undefined)).toBeNull();
  });

  it('refuses what JSON would quietly lose or cannot hold: a function, a symbol, a bigint, a cycle', () => {
    expect(refusal(() => 1)).toMatch(/the result is a function/);
    expect(refusal({ ok: 1, f: () => 2 })).toMatch(/key "f" is a function/);
    expect(refusal([Symbol('s')])).toMatch(/is a symbol/);
    expect(refusal({ n: 1n })).toMatch(/not JSON/);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(refusal(cycle)).toMatch(/not JSON/);
    expect(refusal({ s: '\ud800' })).toMatch(/lone UTF-16 surrogate/);
  });

  it('refuses a result larger than the limit as JSON, counting UTF-8 bytes and escapes, with HQM_ERR_RESULT_TOO_LARGE', () => {
    const code = (value: unknown, max: number): string | undefined => {
      try {
        toJsonResult(value, max);
        return undefined;
      } catch (error) {
        return isHqmError(error) ? error.code : String(error);
      }
    };
    expect(code({ s: 'a'.repeat(1000) }, 1024)).toBeUndefined();
    expect(code({ s: 'a'.repeat(1100) }, 1024)).toBe('HQM_ERR_RESULT_TOO_LARGE');
    // 400 characters, 1,200 UTF-8 bytes.
    expect(code('€'.repeat(400), 1024)).toBe('HQM_ERR_RESULT_TOO_LARGE');
    // 200 characters that JSON escapes to six each (\u0001).
    expect(code('\u0001'.repeat(200), 1024)).toBe('HQM_ERR_RESULT_TOO_LARGE');
    expect(code(Array.from({ length: 300 }, (_, i) => i), 1024)).toBe('HQM_ERR_RESULT_TOO_LARGE');
    expect(code('short', 1024)).toBeUndefined();
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, HqmError, coerceError } from './errors.js';

describe('error catalogue', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

  it('documents every code in docs/errors.md with its HTTP status', () => {
    for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) {
      expect(doc, code).toMatch(new RegExp(`\\| \`${code}\` \\| ${spec.httpStatus} \\|`));
    }
  });

  it('documents no code that does not exist', () => {
    const documented = [...doc.matchAll(/`(HQM_ERR_[A-Z_]+)`/g)].map((m) => m[1]);
    for (const code of documented) expect(Object.keys(ERROR_CATALOGUE)).toContain(code);
  });

  it('takes status and retryability from the catalogue, with an override', () => {
    const error = new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'down', { cause: new Error('econnrefused') });
    expect(error).toMatchObject({ code: 'HQM_ERR_BACKEND_UNAVAILABLE', httpStatus: 503, retryable: true });
    expect(new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'closed', { retryable: false }).retryable).toBe(false);
  });

  it('turns anything thrown into an Error', () => {
    expect(coerceError('text').message).toBe('text');
    expect(coerceError({ a: 1 }).message).toBe('{"a":1}');
    const original = new TypeError('x');
    expect(coerceError(original)).toBe(original);
  });
});

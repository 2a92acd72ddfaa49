import { describe, expect, it } from 'vitest';
import { parseObjects } from './json-fields.js';

describe('parseObjects', () => {
  it('parses each field as a JSON object, leaving out optional blanks', () => {
    expect(parseObjects({ payload: '{"a": 1}', routes: '  ' }, ['routes'])).toEqual({ payload: { a: 1 } });
  });

  it('names the first field that is not a JSON object', () => {
    expect(parseObjects({ payload: '{"a": 1}', metadata: '[1]' })).toBe('metadata must be a JSON object');
    expect(parseObjects({ payload: '' })).toMatch(/^payload is not JSON: /);
    expect(parseObjects({ payload: 'null' })).toBe('payload must be a JSON object');
  });
});

import { describe, expect, it } from 'vitest';
import { isoTime } from './iso-time.js';

describe('isoTime', () => {
  it('formats as Date#toISOString, the same instant again and others', () => {
    for (const ms of [0, 1_733_130_000_123, 1_733_130_000_123, 1_733_130_000_124, -1, 8.64e15]) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });

  it('refuses an invalid time as toISOString does', () => {
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
    expect(() => isoTime(8.64e15 + 1)).toThrow(RangeError);
  });
});

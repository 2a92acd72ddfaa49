import { describe, expect, it } from 'vitest';
import { formatAge, formatCount, formatDuration, formatPerMinute, formatRelative, formatTime, shortId } from './format.js';

describe('format', () => {
  it('reads durations at the precision a person needs', () => {
    expect([0, 12.4, 999, 1000, 4210, 9999, 10_000, 59_999, 60_000, 200_000, 3_600_000, 7_500_000, 86_400_000, 97_200_000].map(formatDuration)).toEqual([
      '0 ms',
      '12 ms',
      '999 ms',
      '1.0 s',
      '4.2 s',
      '9.9 s',
      '10 s',
      '59 s',
      '1 m',
      '3 m 20 s',
      '1 h',
      '2 h 5 m',
      '1 d',
      '1 d 3 h',
    ]);
    // A clock behind another's reads as no time, not as a negative one.
    expect(formatDuration(-5)).toBe('0 ms');
  });

  it('shows an oldest age, or a dash when nothing waits', () => {
    expect(formatAge(null)).toBe('—');
    expect(formatAge(75)).toBe('1 m 15 s');
    expect(formatAge(0.25)).toBe('250 ms');
  });

  it('says how long ago, or how far ahead, a time is', () => {
    const now = Date.parse('2026-11-22T10:30:00Z');
    expect(formatRelative('2026-11-22T10:29:55Z', now)).toBe('5.0 s ago');
    expect(formatRelative('2026-11-22T10:30:00.400Z', now)).toBe('just now');
    expect(formatRelative('2026-11-22T11:30:00Z', now)).toBe('in 1 h');
    expect(formatRelative('not a time', now)).toBe('not a time');
  });

  it('writes times as date and 24-hour time, in the zone asked for', () => {
    expect(formatTime('2026-11-22T10:30:05.123Z', 'UTC')).toBe('2026-11-22 10:30:05');
    expect(formatTime('2026-11-22T23:30:05Z', 'Europe/Berlin')).toBe('2026-11-23 00:30:05');
    expect(formatTime('garbage')).toBe('garbage');
  });

  it('counts with separators, rates per minute, and shortens long ids only', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatPerMinute(12)).toBe('12/min');
    expect(shortId('0193f1c2-7b1e-7cc0-9a4e-2f1d3c4b5a69')).toBe('0193f1c2…5a69');
    expect(shortId('default:17')).toBe('default:17');
  });
});

import { describe, expect, it } from 'vitest';
import { backoffMs, hasAttemptsLeft } from './retry-policy.js';

const policy = { maxAttempts: 4, baseMs: 1000, maxMs: 5000 };

describe('retry policy', () => {
  it('draws the delay between 0 and base·2^(attempt-1), capped at the maximum', () => {
    expect(backoffMs(policy, 1, () => 0.999)).toBe(999);
    expect(backoffMs(policy, 2, () => 0.999)).toBe(1998);
    expect(backoffMs(policy, 3, () => 0.5)).toBe(2000);
    expect(backoffMs(policy, 10, () => 0.999)).toBe(4995);
    expect(backoffMs(policy, 1, () => 0)).toBe(0);
  });

  it('does not overflow for huge attempt numbers', () => {
    expect(backoffMs(policy, 10_000, () => 0.5)).toBe(2500);
  });

  it('counts the first attempt among the maximum', () => {
    expect(hasAttemptsLeft(policy, 3)).toBe(true);
    expect(hasAttemptsLeft(policy, 4)).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { crashesInARow, processCount, restartDelayMs, type RestartPolicy } from './count.js';

describe('processCount', () => {
  it('takes a number as it is and "auto" as the CPUs this process may use', () => {
    expect(processCount(3, () => 8)).toBe(3);
    expect(processCount('auto', () => 6)).toBe(6);
    expect(processCount('auto', () => 0)).toBe(1);
  });
});

describe('restart back-off', () => {
  const policy: RestartPolicy = { baseMs: 100, maxMs: 1000, stableMs: 5000 };

  it('doubles with each crash in a row, up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => restartDelayMs(n, policy))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(restartDelayMs(10_000, policy)).toBe(1000);
  });

  it('counts short lives in a row and starts again after a long one', () => {
    expect(crashesInARow(0, 10, policy)).toBe(1);
    expect(crashesInARow(3, 4999, policy)).toBe(4);
    expect(crashesInARow(3, 5000, policy)).toBe(1);
  });
});

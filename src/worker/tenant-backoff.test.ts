import { describe, expect, it } from 'vitest';
import { TenantBackoff } from './tenant-backoff.js';

describe('TenantBackoff', () => {
  const options = { minMs: 100, spacingMs: 10, maxMs: 1000 };

  it('spreads one tenant’s refused deliveries out one spacing apart, so a backlog comes back at a bounded rate', () => {
    const now = 50_000;
    const backoff = new TenantBackoff(options, () => now, () => 0);
    const delays = Array.from({ length: 5 }, () => backoff.delayFor('a'));
    expect(delays).toEqual([100, 110, 120, 130, 140]);
  });

  it('keeps tenants apart: one tenant’s backlog does not delay another’s', () => {
    const backoff = new TenantBackoff(options, () => 0, () => 0);
    for (let i = 0; i < 50; i += 1) backoff.delayFor('a');
    expect(backoff.delayFor('b')).toBe(100);
  });

  it('starts again from the shortest delay once the horizon has passed, and never goes past the longest', () => {
    let now = 0;
    const backoff = new TenantBackoff(options, () => now, () => 0);
    for (let i = 0; i < 500; i += 1) backoff.delayFor('a');
    expect(backoff.delayFor('a')).toBe(1000);
    now = 5000;
    expect(backoff.delayFor('a')).toBe(100);
  });

  it('adds up to one spacing of jitter', () => {
    const backoff = new TenantBackoff(options, () => 0, () => 0.99);
    expect(backoff.delayFor('a')).toBe(109);
  });
});

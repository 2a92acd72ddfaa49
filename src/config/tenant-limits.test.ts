import { describe, expect, it } from 'vitest';
import { configSchema } from './schema.js';
import { concurrencyLimitOf, slotHeldUntil, takesTenantSlot } from '../core/request/tenant-slots.js';

describe('tenant slots', () => {
  it('a claim takes a slot; a takeover keeps its own; a request without a tenant takes none', () => {
    expect(takesTenantSlot({ status: 'PENDING', tenant: 'a' }, 'PROCESSING')).toBe(true);
    expect(takesTenantSlot({ status: 'PROCESSING', tenant: 'a' }, 'PROCESSING')).toBe(false);
    expect(takesTenantSlot({ status: 'PENDING', tenant: null }, 'PROCESSING')).toBe(false);
    expect(takesTenantSlot({ status: 'PENDING', tenant: 'a' }, 'CANCELLED')).toBe(false);
  });

  it('a slot is held until the deadline at most', () => {
    expect(slotHeldUntil({ deadlineAt: 10, expiresAt: 20 })).toBe(10);
    expect(slotHeldUntil({ deadlineAt: null, expiresAt: 20 })).toBe(20);
  });
});

describe('auth.tenants and auth.default_tenant', () => {
  const limitOf = (auth: Record<string, unknown>, tenant: string | null): number | null => {
    const config = configSchema.parse({ auth }).auth;
    return concurrencyLimitOf(config.tenants, config.default_tenant, tenant);
  };

  it('a tenant takes its own limit, else the default; an explicit null is no limit; no tenant is never limited', () => {
    const auth = { tenants: { a: { max_concurrency: 2 }, b: { max_concurrency: null }, c: null }, default_tenant: { max_concurrency: 5 } };
    expect(limitOf(auth, 'a')).toBe(2);
    expect(limitOf(auth, 'b')).toBeNull();
    expect(limitOf(auth, 'c')).toBe(5);
    expect(limitOf(auth, 'unlisted')).toBe(5);
    expect(limitOf(auth, null)).toBeNull();
    expect(limitOf({}, 'a')).toBeNull();
  });

  it('still takes a list of names (from a file or the environment), and a mapping as JSON from the environment', () => {
    expect(configSchema.parse({ auth: { tenants: ['a', 'b'] } }).auth.tenants).toEqual({ a: {}, b: {} });
    expect(configSchema.parse({ auth: { tenants: 'a, b' } }).auth.tenants).toEqual({ a: {}, b: {} });
    expect(configSchema.parse({ auth: { tenants: '{"a": {"max_concurrency": "3"}}' } }).auth.tenants).toEqual({ a: { max_concurrency: 3 } });
  });

  it('names the problem in a bad entry', () => {
    const issues = (auth: unknown) => configSchema.safeParse({ auth }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues({ tenants: { a: { max_concurrency: 0 } } })).toEqual([expect.stringMatching(/^auth\.tenants\.a\.max_concurrency: /)]);
    expect(issues({ tenants: { a: { max_concurency: 2 } } })).toEqual([expect.stringMatching(/^auth\.tenants\.a: .*max_concurency/)]);
    expect(issues({ tenants: { '-bad': {} } })).toEqual([expect.stringMatching(/^auth\.tenants\.-bad: expected a tenant name/)]);
    expect(issues({ tenants: 5 })).toEqual([expect.stringMatching(/^auth\.tenants: expected a list of tenant names or a mapping/)]);
  });
});

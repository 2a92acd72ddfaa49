import { describe, expect, it } from 'vitest';
import { isCorrelationId, newCorrelationId } from './ids.js';

describe('correlation ids', () => {
  it('are version-7 UUIDs with the RFC variant', () => {
    const id = newCorrelationId();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(isCorrelationId(id)).toBe(true);
  });

  it('sort by creation time and never repeat', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => newCorrelationId(1_700_000_000_000 + i));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(Array.from({ length: 100_000 }, () => newCorrelationId())).size).toBe(100_000);
  });

  it('carry their creation time in the first 48 bits', () => {
    expect(Number.parseInt(newCorrelationId(1_234_567_890_123).replace(/-/g, '').slice(0, 12), 16)).toBe(1_234_567_890_123);
  });

  it('accept any UUID and refuse anything else', () => {
    expect(isCorrelationId('550e8400-e29b-41d4-a716-446655440000')).toBe(true);
    expect(isCorrelationId('not-a-uuid')).toBe(false);
    expect(isCorrelationId('550e8400e29b41d4a716446655440000')).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { partitionNumber, partitionOf } from './partition.js';

const settings = (strategy: 'sticky' | 'hash' | 'key' | 'round_robin') => ({ strategy, partitionCount: 10, keyFields: ['metadata.session_id', 'metadata.partition_key'] });

describe('partitionOf', () => {
  it('reads the key from the first field that has one', () => {
    expect(partitionOf({ metadata: { partition_key: 'p', session_id: 's' } }, settings('key'))).toEqual({ key: 's', orderingKey: 'k:s' });
    expect(partitionOf({ metadata: { partition_key: 'p' } }, settings('key'))).toEqual({ key: 'p', orderingKey: 'k:p' });
    expect(partitionOf({ metadata: {} }, settings('key'))).toBeNull();
  });

  it('maps hash and sticky to a stable partition, round_robin to no order', () => {
    const hashed = partitionOf({ metadata: { session_id: 'user-42' } }, settings('hash'));
    expect(hashed?.orderingKey).toBe(`p:${partitionNumber('user-42', 10)}`);
    expect(partitionOf({ metadata: { session_id: 'user-42' } }, settings('sticky'))?.orderingKey).toBe(hashed?.orderingKey);
    expect(partitionOf({ metadata: { session_id: 'user-42' } }, settings('round_robin'))).toEqual({ key: 'user-42', orderingKey: null });
  });

  it('spreads keys over every partition', () => {
    const used = new Set(Array.from({ length: 1000 }, (_, i) => partitionNumber(`key-${i}`, 10)));
    expect(used.size).toBe(10);
  });
});

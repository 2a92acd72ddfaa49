/**
 * Partitioning: which requests must be processed one at a time, in submission order. A
 * request's key is read from the message; the strategy turns it into the unit the queue
 * serializes on:
 *
 * - `key`: each distinct key (the most parallelism);
 * - `hash`, `sticky`: one of `partition_count` partitions, by a stable hash of the key (keys
 *   that share a partition wait for each other, as in Kafka);
 * - `round_robin`: nothing — requests are spread freely, without ordering.
 *
 * A request without a key is never held back.
 *
 * @module
 */
import { createHash } from 'node:crypto';

export type PartitionStrategy = 'sticky' | 'hash' | 'key' | 'round_robin';

export interface PartitionSettings {
  readonly strategy: PartitionStrategy;
  readonly partitionCount: number;
  /** Dotted paths tried in order for the key. */
  readonly keyFields: readonly string[];
}

export interface Partition {
  /** The key as read from the message. */
  readonly key: string;
  /** What the queue serializes on; null when the strategy imposes no order. */
  readonly orderingKey: string | null;
}

export function partitionOf(message: unknown, settings: PartitionSettings): Partition | null {
  let key: string | null = null;
  for (const field of settings.keyFields) {
    const value = dotted(message, field);
    if (value !== undefined && value !== null && value !== '') {
      key = typeof value === 'string' ? value : JSON.stringify(value);
      break;
    }
  }
  if (key === null) return null;
  switch (settings.strategy) {
    case 'key':
      return { key, orderingKey: `k:${key}` };
    case 'hash':
    case 'sticky':
      return { key, orderingKey: `p:${partitionNumber(key, settings.partitionCount)}` };
    case 'round_robin':
      return { key, orderingKey: null };
  }
}

/** A stable partition number: the same key lands in the same partition in every process. */
export function partitionNumber(key: string, count: number): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) % count;
}

function dotted(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

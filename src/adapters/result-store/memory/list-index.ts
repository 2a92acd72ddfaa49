/**
 * The memory store's list indexes (adapters/shared/list-index.ts names them): per index, the
 * position keys of its records in a sorted array, found by binary search.
 *
 * Removal is lazy. Records leave an index far more often from its old end (expiry) than
 * anything is inserted anywhere but its new end, and a splice at the front of a large array
 * costs its whole length; so a record that leaves only counts its entry as stale, readers skip
 * entries that no longer hold (`holds`), and an index is rebuilt without them once half of it
 * is stale: amortised O(1) per removal, and an index never grows past twice its live size.
 *
 * @module
 */
import type { Status } from '../../../core/request/lifecycle.js';
import { positionKey } from '../../../core/request/list.js';
import type { RequestRecord } from '../../../core/request/record.js';
import { fixedIndexes, statusIndexes } from '../../shared/list-index.js';

interface Index {
  keys: string[];
  stale: number;
}

/** Whether the entry `key` of index `name` still stands for a live record that belongs there. */
export type EntryCheck = (name: string, key: string) => boolean;

/** Below this many entries an index is not worth compacting. */
const COMPACT_MIN = 1024;

export class MemoryListIndexes {
  readonly #indexes = new Map<string, Index>();

  constructor(private readonly holds: EntryCheck) {}

  /** A new record: into every index it belongs to. */
  add(record: RequestRecord): void {
    const key = positionKey(record);
    for (const name of [...fixedIndexes(record), ...statusIndexes(record, record.status)]) this.#insert(name, key);
  }

  /** The record's status changed from `before`. */
  moved(record: RequestRecord, before: Status): void {
    if (record.status === before) return;
    const key = positionKey(record);
    for (const name of statusIndexes(record, before)) this.#leave(name);
    for (const name of statusIndexes(record, record.status)) this.#insert(name, key);
  }

  /** The record is gone. */
  removed(record: RequestRecord): void {
    for (const name of [...fixedIndexes(record), ...statusIndexes(record, record.status)]) this.#leave(name);
  }

  /** Keys of index `name` below `upper` (exclusive) and from `lower` (inclusive) on, newest first. */
  *descending(name: string, upper: string | undefined, lower: string | undefined): Generator<string> {
    const index = this.#indexes.get(name);
    if (index === undefined) return;
    // Copy-free but safe: entries are only ever inserted, never spliced out, while a reader
    // iterates (compaction replaces the array), so an insertion can only shift what is above.
    const keys = index.keys;
    let i = (upper === undefined ? keys.length : lowerBound(keys, upper)) - 1;
    for (; i >= 0; i -= 1) {
      const key = keys[i] as string;
      if (lower !== undefined && key < lower) return;
      if (this.holds(name, key)) yield key;
    }
  }

  #insert(name: string, key: string): void {
    let index = this.#indexes.get(name);
    if (index === undefined) {
      index = { keys: [], stale: 0 };
      this.#indexes.set(name, index);
    }
    const keys = index.keys;
    // Mostly an append: ids and submit times both grow.
    if (keys.length === 0 || (keys[keys.length - 1] as string) < key) {
      keys.push(key);
      return;
    }
    const at = lowerBound(keys, key);
    // Back in an index it had left (a retry goes PENDING again): the stale entry holds again.
    if (keys[at] === key) index.stale = Math.max(0, index.stale - 1);
    else keys.splice(at, 0, key);
  }

  #leave(name: string): void {
    const index = this.#indexes.get(name);
    if (index === undefined) return;
    index.stale += 1;
    if (index.stale * 2 < index.keys.length || index.keys.length < COMPACT_MIN) {
      if (index.stale >= index.keys.length) this.#indexes.delete(name);
      return;
    }
    index.keys = index.keys.filter((key) => this.holds(name, key));
    index.stale = 0;
    if (index.keys.length === 0) this.#indexes.delete(name);
  }
}

/** The first position whose key is not below `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as string) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

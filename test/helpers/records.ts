import type { ResultStore } from '../../src/ports/result-store.js';

export interface RecordWatch {
  /** Every id the store created or moved since the watch began, in order of first sight. */
  readonly seen: readonly string[];
  /** The ids among `seen` the store still holds: what a refused request left behind. */
  left(): Promise<string[]>;
  stop(): void;
}

/**
 * Watches the store's change feed, so a test can tell that a refused request stored nothing:
 * no store lists its records, but every create is announced on the feed.
 */
export function watchRecords(store: ResultStore): RecordWatch {
  const seen: string[] = [];
  const stop = store.onChange(({ id }) => {
    if (!seen.includes(id)) seen.push(id);
  });
  return {
    seen,
    async left() {
      const present = await Promise.all(seen.map(async (id) => ((await store.get(id)) === undefined ? [] : [id])));
      return present.flat();
    },
    stop,
  };
}

/**
 * Batching per event-loop turn (D186): every item asked for during one turn goes to the server in
 * as few statements as the items allow — one, unless two items name the same row (the `keys`
 * that must be distinct within a statement; the later waits for the earlier to land), or there
 * are more than `max` — so N writes of a turn cost one round trip and one commit instead of N,
 * and N commits that each wait for their flush (and, when they notify, for each other's) become one.
 *
 * Each item still succeeds or fails on its own. A statement the server could not run — away, or
 * timed out — fails every item in it (none of them landed, or all did: one statement is one
 * transaction). A statement the server refused for something in its data is sent again one item
 * at a time, so only the item at fault fails.
 *
 * @module
 */
import { isHqmError } from '../../../core/errors.js';

interface Pending<I, R> {
  readonly item: I;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

export class TurnBatch<I, R> {
  #queued: Array<Pending<I, R>> = [];
  #scheduled = false;

  /**
   * @param send runs one statement for `items` and answers one result per item, in order.
   * @param keys the rows an item writes that no other item of its statement may write.
   */
  constructor(
    private readonly send: (items: readonly I[]) => Promise<readonly R[]>,
    private readonly keys: (item: I) => ReadonlyArray<string | number>,
    private readonly max: number,
  ) {}

  run(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queued.push({ item, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(this.#flush);
    });
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const queued = this.#queued;
    this.#queued = [];
    void this.#sendInOrder(queued);
  };

  /**
   * One statement for the items whose keys are free, then the next for those that waited: an
   * item that shares a key with an earlier one goes after it has landed, so two writes of one
   * row in one turn land in the order they were asked for.
   */
  async #sendInOrder(queued: ReadonlyArray<Pending<I, R>>): Promise<void> {
    let rest = queued;
    while (rest.length > 0) {
      const taken = new Set<string | number>();
      const batch: Array<Pending<I, R>> = [];
      const later: Array<Pending<I, R>> = [];
      for (const pending of rest) {
        const keys = this.keys(pending.item);
        if (batch.length < this.max && keys.every((key) => !taken.has(key))) {
          for (const key of keys) taken.add(key);
          batch.push(pending);
        } else {
          later.push(pending);
        }
      }
      await this.#sendBatch(batch);
      rest = later;
    }
  }

  async #sendBatch(batch: ReadonlyArray<Pending<I, R>>): Promise<void> {
    let results: readonly R[];
    try {
      results = await this.send(batch.map((p) => p.item));
      if (results.length !== batch.length) throw new Error(`a batched statement answered ${results.length} rows for ${batch.length} items`);
    } catch (error) {
      // Refused for its data (errors.ts leaves those untranslated), not for the server being away.
      if (batch.length > 1 && !isHqmError(error)) {
        for (const pending of batch) void this.#sendBatch([pending]);
        return;
      }
      for (const pending of batch) pending.reject(error);
      return;
    }
    batch.forEach((pending, i) => pending.resolve(results[i] as R));
  }
}

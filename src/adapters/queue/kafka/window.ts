/**
 * The offsets of one partition this consumer has taken and not yet committed. Messages of a
 * partition run concurrently and finish in any order, but Kafka keeps one committed offset per
 * partition: everything below it counts as done for whoever owns the partition next. So the
 * commit point is the lowest offset not yet finished: a message finished above an unfinished
 * one is committed only with it, and after a crash the next owner sees the unfinished one again
 * (and the finished ones above it, which the store's claim acknowledges without running them).
 * Pure.
 *
 * @module
 */
export class PartitionWindow {
  /** Taken offsets at or above `#next`, ascending, with whether each is finished. */
  readonly #entries: Array<{ offset: bigint; done: boolean }> = [];
  /** The first offset not finished: what a commit would say (undefined until one is taken). */
  #next: bigint | undefined;
  /** What the broker last confirmed as committed by this consumer. */
  #committed: bigint | undefined;

  /** True when `offset` is already taken or finished here (a refetch after a rebalance). */
  knows(offset: bigint): boolean {
    if (this.#next !== undefined && offset < this.#next) return true;
    return this.#entries.some((e) => e.offset === offset);
  }

  /** Takes a newly fetched offset; offsets come in ascending order. */
  take(offset: bigint): void {
    if (this.#entries.length === 0 && (this.#next === undefined || offset > this.#next)) this.#next = offset;
    this.#entries.push({ offset, done: false });
  }

  /** Marks `offset` finished; returns true when the commit point moved. */
  finish(offset: bigint): boolean {
    const entry = this.#entries.find((e) => e.offset === offset);
    if (entry === undefined || entry.done) return false;
    entry.done = true;
    let moved = false;
    while (this.#entries[0]?.done === true) {
      const head = this.#entries.shift() as { offset: bigint };
      this.#next = head.offset + 1n;
      moved = true;
    }
    const head = this.#entries[0];
    if (head !== undefined && this.#next !== undefined && head.offset > this.#next) this.#next = head.offset;
    return moved;
  }

  /** The offset to commit when it is ahead of what the broker has; undefined when nothing is. */
  pendingCommit(): bigint | undefined {
    if (this.#next === undefined) return undefined;
    return this.#committed === undefined || this.#next > this.#committed ? this.#next : undefined;
  }

  confirm(offset: bigint): void {
    if (this.#committed === undefined || offset > this.#committed) this.#committed = offset;
  }

  /** The first unfinished offset (the local commit point). */
  get next(): bigint | undefined {
    return this.#next;
  }

  /** Finished offsets above the commit point (they wait for a lower one). */
  get finishedAhead(): number {
    return this.#entries.filter((e) => e.done).length;
  }

  /** Taken and not finished. */
  get open(): number {
    return this.#entries.filter((e) => !e.done).length;
  }
}

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
  /** Taken offsets at or above `#next`, ascending, from `#head` on; with whether each is finished. */
  #entries: Array<{ offset: bigint; done: boolean }> = [];
  #head = 0;
  /** The same entries by offset: a window can grow large behind one slow message. */
  readonly #byOffset = new Map<bigint, { offset: bigint; done: boolean }>();
  #finishedAhead = 0;
  /** The first offset not finished: what a commit would say (undefined until one is taken). */
  #next: bigint | undefined;
  /** What the broker last confirmed as committed by this consumer. */
  #committed: bigint | undefined;

  /** True when `offset` is already taken or finished here (a refetch after a rebalance). */
  knows(offset: bigint): boolean {
    if (this.#next !== undefined && offset < this.#next) return true;
    return this.#byOffset.has(offset);
  }

  /** Takes a newly fetched offset; offsets come in ascending order. */
  take(offset: bigint): void {
    if (this.#byOffset.size === 0 && (this.#next === undefined || offset > this.#next)) this.#next = offset;
    const entry = { offset, done: false };
    this.#entries.push(entry);
    this.#byOffset.set(offset, entry);
  }

  /** Marks `offset` finished; returns true when the commit point moved. */
  finish(offset: bigint): boolean {
    const entry = this.#byOffset.get(offset);
    if (entry === undefined || entry.done) return false;
    entry.done = true;
    this.#finishedAhead += 1;
    let moved = false;
    for (let head = this.#entries[this.#head]; head?.done === true; head = this.#entries[this.#head]) {
      this.#head += 1;
      this.#byOffset.delete(head.offset);
      this.#finishedAhead -= 1;
      this.#next = head.offset + 1n;
      moved = true;
    }
    // Drop the consumed prefix now and then, so the array does not grow without end.
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    const head = this.#entries[this.#head];
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
    return this.#finishedAhead;
  }

  /** Taken and not finished. */
  get open(): number {
    return this.#byOffset.size - this.#finishedAhead;
  }
}

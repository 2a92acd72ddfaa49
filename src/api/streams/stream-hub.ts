/**
 * What every live stream (an SSE response, a WebSocket connection) shares in one API process:
 * a bounded number of slots, one subscription to the store's change feed, and the list of
 * streams to end at shutdown.
 *
 * The feed is subscribed while anything is watched and dropped when nothing is (as the
 * long-poll waiters do), so a process without streams pays nothing. Each stream holds a
 * socket, timers and its followers' closures; `api.max_streams` bounds them, and a stream
 * past the bound is refused before it starts (503), never queued.
 *
 * @module
 */
import type { RecordChange, ResultStore } from '../../ports/result-store.js';

/** `api.max_streams` by default. */
export const DEFAULT_MAX_STREAMS = 10_000;

/** One stream's hold on the hub; `release` is idempotent. */
export interface StreamSlot {
  release(): void;
}

export class StreamHub {
  readonly #watchers = new Map<string, Set<() => void>>();
  readonly #open = new Set<() => void>();
  #unsubscribe: (() => void) | undefined;
  #closed = false;

  constructor(
    private readonly store: ResultStore,
    private readonly maxStreams = DEFAULT_MAX_STREAMS,
  ) {}

  /**
   * Takes a slot for a new stream, or undefined when `maxStreams` are open or the hub is
   * closing. `end` is called (once) should the process shut down while the stream is open.
   */
  open(end: () => void): StreamSlot | undefined {
    if (this.#closed || this.#open.size >= this.maxStreams) return undefined;
    // A wrapper per slot: two streams may hand in the same function.
    const entry = (): void => end();
    this.#open.add(entry);
    return { release: () => this.#open.delete(entry) };
  }

  /**
   * Calls `wake` on every change of `id` (from this process or, where the store shares its
   * feed, from others). Watch before reading, so no change falls between the read and the watch.
   */
  watch(id: string, wake: () => void): () => void {
    let set = this.#watchers.get(id);
    if (set === undefined) {
      set = new Set();
      this.#watchers.set(id, set);
    }
    const entry = (): void => wake();
    set.add(entry);
    this.#unsubscribe ??= this.store.onChange(this.#onChange);
    return () => {
      const current = this.#watchers.get(id);
      current?.delete(entry);
      if (current?.size === 0) this.#watchers.delete(id);
      if (this.#watchers.size === 0) this.#stopListening();
    };
  }

  /** Streams open now, which `maxStreams` bounds. */
  get streams(): number {
    return this.#open.size;
  }

  /** `maxStreams`. */
  get capacity(): number {
    return this.maxStreams;
  }

  /** Ids watched now. */
  get watched(): number {
    return this.#watchers.size;
  }

  /** Ends every stream (before shutdown, so none holds the listener open) and refuses new ones. */
  closeAll(): void {
    this.#closed = true;
    for (const end of [...this.#open]) {
      this.#open.delete(end);
      end();
    }
    this.#watchers.clear();
    this.#stopListening();
  }

  readonly #onChange = (change: RecordChange): void => {
    const set = this.#watchers.get(change.id);
    if (set !== undefined) for (const wake of [...set]) wake();
  };

  #stopListening(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }
}

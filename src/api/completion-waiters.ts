/**
 * Long-poll support: lets a request handler wait until a record reaches a terminal status,
 * woken by the store's change feed (which, for shared stores, also carries other processes'
 * writes) rather than by re-reading the record in a loop. The feed is only subscribed while
 * someone waits.
 *
 * Waiting is bounded: each waiter holds a timer, a closure and an open socket, so at most
 * `maxWaiters` wait at once in a process (`api.max_waiters`). Past that, `register` declines and
 * the request is answered at once, as if it had not asked to wait — never an error.
 *
 * @module
 */
import { isTerminal } from '../core/request/lifecycle.js';
import type { RecordChange, ResultStore } from '../ports/result-store.js';

export interface Ticket {
  /** Resolves on a terminal change, when the time is up, on cancel, or when all are released. */
  readonly settled: Promise<void>;
  cancel(): void;
}

/** `api.max_waiters` by default. */
export const DEFAULT_MAX_WAITERS = 10_000;

export class CompletionWaiters {
  readonly #waiting = new Map<string, Set<() => void>>();
  #unsubscribe: (() => void) | undefined;
  #count = 0;

  constructor(
    private readonly store: ResultStore,
    private readonly maxWaiters = DEFAULT_MAX_WAITERS,
  ) {}

  /**
   * Starts waiting for `id`, or answers undefined when `maxWaiters` already wait (the caller
   * then reads once and answers). Register before reading the record, so no change falls in between.
   */
  register(id: string, timeoutMs: number): Ticket | undefined {
    if (this.#count >= this.maxWaiters) return undefined;
    this.#count += 1;
    let wake!: () => void;
    const settled = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const timer = setTimeout(() => done(), timeoutMs);
    let finished = false;
    const done = (): void => {
      clearTimeout(timer);
      if (finished) return;
      finished = true;
      this.#count -= 1;
      const set = this.#waiting.get(id);
      set?.delete(done);
      if (set?.size === 0) this.#waiting.delete(id);
      if (this.#waiting.size === 0) this.#stopListening();
      wake();
    };
    let set = this.#waiting.get(id);
    if (set === undefined) {
      set = new Set();
      this.#waiting.set(id, set);
    }
    set.add(done);
    this.#unsubscribe ??= this.store.onChange(this.#onChange);
    return { settled, cancel: done };
  }

  /** Answers every waiter now (used before shutdown so long-polls do not hold it up). */
  releaseAll(): void {
    for (const set of [...this.#waiting.values()]) for (const done of [...set]) done();
  }

  /** Ids waited for. */
  get size(): number {
    return this.#waiting.size;
  }

  /** Requests waiting, which `maxWaiters` bounds. */
  get waiting(): number {
    return this.#count;
  }

  readonly #onChange = (change: RecordChange): void => {
    if (!isTerminal(change.status)) return;
    const set = this.#waiting.get(change.id);
    if (set !== undefined) for (const done of [...set]) done();
  };

  #stopListening(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }
}

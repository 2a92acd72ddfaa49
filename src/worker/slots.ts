/**
 * The slots of one worker process (`worker.count`), shared by the named queues it serves.
 * Pure bookkeeping, no I/O, so its policy is unit-tested on its own (slots.test.ts):
 *
 * - A delivery runs only once it holds a slot (`acquire`); a queue never holds more than its
 *   `concurrency` of them, and the process never more than `total`.
 * - When a slot frees and several queues have a delivery waiting, the next one is chosen by
 *   stride scheduling over the queues that can take it: each start moves a queue's pass on by
 *   (sum of weights / its weight), and the lowest pass goes next. Weights 3/2/1 give the
 *   starts h,d,b,h,d,h … (3:2:1, interleaved); a queue with weight 1 gets its turn every
 *   sum-of-weights starts, so the lowest is never starved. A queue that missed turns because
 *   it was between deliveries (fetching its next) catches up, but by one round at most, so a
 *   queue that was idle does not come back with a burst of saved-up turns.
 * - `holdLimit` tells each queue's consumer how many deliveries to hold (running plus waiting):
 *   enough to fill its weighted share of the free slots, plus one waiting delivery while other
 *   queues compete, so a freed slot always finds every busy queue with a candidate — and no
 *   more, so a process does not hoard messages other processes could run (D106).
 *
 * @module
 */

export interface QueueShare {
  readonly name: string;
  /** Relative share of contended slots (≥ 1). */
  readonly weight: number;
  /** Most of this queue's deliveries running at once; null: up to `total`. */
  readonly concurrency: number | null;
}

/** Frees the slot; calling it again does nothing. */
export type ReleaseSlot = () => void;

interface Waiter {
  readonly grant: (release: ReleaseSlot) => void;
}

interface QueueSlots {
  readonly name: string;
  readonly weight: number;
  readonly cap: number;
  running: number;
  readonly waiters: Waiter[];
  /** Stride scheduling: lowest goes next; each start adds totalWeight / weight. */
  pass: number;
  /** Its consumer was told to hold no more: told again (`onRaise`) once it may. */
  blocked: boolean;
  readonly listeners: Set<() => void>;
}

export interface QueueSlotsView {
  readonly running: number;
  readonly waiting: number;
}

export class WeightedSlots {
  readonly #queues = new Map<string, QueueSlots>();
  readonly #totalWeight: number;
  /** Whether queues compete: a queue alone in the process needs nothing waiting. */
  readonly #compete: boolean;
  #running = 0;
  /** The pass of the latest start: how far scheduling has got. */
  #now = 0;

  constructor(
    readonly total: number,
    shares: readonly QueueShare[],
  ) {
    if (!(total >= 1)) throw new RangeError('a worker needs at least one slot');
    if (shares.length === 0) throw new RangeError('a worker needs at least one queue');
    for (const share of shares) {
      if (this.#queues.has(share.name)) throw new RangeError(`queue ${share.name} is listed twice`);
      if (!(share.weight >= 1)) throw new RangeError(`queue ${share.name}: weight must be at least 1`);
      const cap = Math.min(total, share.concurrency ?? total);
      if (!(cap >= 1)) throw new RangeError(`queue ${share.name}: concurrency must be at least 1`);
      this.#queues.set(share.name, { name: share.name, weight: share.weight, cap, running: 0, waiters: [], pass: 0, blocked: false, listeners: new Set() });
    }
    this.#totalWeight = shares.reduce((sum, s) => sum + s.weight, 0);
    this.#compete = shares.length > 1;
  }

  /**
   * Resolves with the release once a slot is granted to `queue`; rejects with the signal's
   * reason if it aborts first (the slot is then never taken).
   */
  acquire(queue: string, signal?: AbortSignal): Promise<ReleaseSlot> {
    const q = this.#queue(queue);
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    return new Promise<ReleaseSlot>((resolve, reject) => {
      let granted = false;
      let listening = false;
      const onAbort = (): void => {
        const at = q.waiters.indexOf(waiter);
        if (at < 0) return; // Granted in the same turn: the holder releases it.
        q.waiters.splice(at, 1);
        this.#changed();
        reject(signal?.reason as Error);
      };
      const waiter: Waiter = {
        grant: (release) => {
          granted = true;
          if (listening) signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      q.waiters.push(waiter);
      this.#dispatch();
      // Granted at once (a slot was free, the usual case): nothing left to abort, no listener.
      if (!granted && signal !== undefined) {
        signal.addEventListener('abort', onAbort, { once: true });
        listening = true;
      }
      this.#changed();
    });
  }

  /** Deliveries `queue`'s consumer should hold now (running plus waiting for a slot). */
  holdLimit(queue: string): number {
    const q = this.#queue(queue);
    const free = this.total - this.#running;
    const share = Math.ceil((free * q.weight) / this.#totalWeight);
    return Math.min(q.cap, q.running + Math.max(this.#lookahead(q), share));
  }

  /**
   * Deliveries a queue keeps waiting while others compete: its weighted share of the whole pool,
   * at least two. One would do if fetching took no time; but slots free again while the queue
   * that just won one is still fetching its next, and a heavier queue wins more often — with
   * only one ready, 3/2/1 measured about 2.5:2:1.5 on SQLite (D106). The cost: a busy process
   * holds up to about twice its slots (plus two per queue) that other processes cannot take.
   */
  #lookahead(q: QueueSlots): number {
    return this.#compete ? Math.max(2, Math.ceil((this.total * q.weight) / this.#totalWeight)) : 0;
  }

  /** Calls `listener` whenever `queue`'s consumer, told to hold no more, may hold more again. */
  onRaise(queue: string, listener: () => void): () => void {
    const q = this.#queue(queue);
    q.listeners.add(listener);
    return () => q.listeners.delete(listener);
  }

  view(queue: string): QueueSlotsView {
    const q = this.#queue(queue);
    return { running: q.running, waiting: q.waiters.length };
  }

  get running(): number {
    return this.#running;
  }

  /** Grants free slots to waiting deliveries, by weight among the queues that can take one. */
  #dispatch(): void {
    while (this.#running < this.total) {
      const q = this.#pick();
      if (q === undefined) return;
      const waiter = q.waiters.shift() as Waiter;
      q.running += 1;
      this.#running += 1;
      let held = true;
      waiter.grant(() => {
        if (!held) return;
        held = false;
        q.running -= 1;
        this.#running -= 1;
        this.#dispatch();
        this.#changed();
      });
    }
  }

  /** Stride scheduling over the eligible queues; ties go to the queue declared first. */
  #pick(): QueueSlots | undefined {
    let best: QueueSlots | undefined;
    for (const q of this.#queues.values()) {
      if (q.waiters.length === 0 || q.running >= q.cap) continue;
      // Turns missed while it had nothing waiting are made up for one round at most.
      q.pass = Math.max(q.pass, this.#now - this.#totalWeight);
      if (best === undefined || q.pass < best.pass) best = q;
    }
    if (best === undefined) return undefined;
    this.#now = Math.max(this.#now, best.pass);
    best.pass += this.#totalWeight / best.weight;
    return best;
  }

  /** Tells each consumer that was held back and may now hold more. */
  #changed(): void {
    for (const q of this.#queues.values()) {
      const held = q.running + q.waiters.length;
      const blocked = held >= this.holdLimit(q.name);
      const raised = q.blocked && !blocked;
      q.blocked = blocked;
      if (raised) for (const listener of q.listeners) listener();
    }
  }

  #queue(name: string): QueueSlots {
    const q = this.#queues.get(name);
    if (q === undefined) throw new RangeError(`queue ${name} is not served by this worker`);
    return q;
  }
}

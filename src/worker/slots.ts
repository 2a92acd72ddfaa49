/**
 * The slots of one worker process (`worker.count`), shared by the named queues it serves.
 * Pure bookkeeping, no I/O, so its policy is unit-tested on its own (slots.test.ts):
 *
 * - A delivery runs only once it holds a slot (`acquire`); a queue never holds more than its
 *   `concurrency` of them, and the process never more than `total`.
 * - When a slot frees and several queues have a delivery waiting, the next one is chosen by
 *   smooth weighted round robin over the queues that can take it: weights 3/2/1 give the
 *   starts h,d,h,b,h,d … (3:2:1, interleaved), and a queue with weight 1 gets its turn every
 *   sum-of-weights picks, so the lowest is never starved.
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
  /** Smooth weighted round robin credit. */
  credit: number;
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
  /** A waiting delivery per queue while others compete; none when one queue has the process to itself. */
  readonly #lookahead: number;
  #running = 0;

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
      this.#queues.set(share.name, { name: share.name, weight: share.weight, cap, running: 0, waiters: [], credit: 0, blocked: false, listeners: new Set() });
    }
    this.#totalWeight = shares.reduce((sum, s) => sum + s.weight, 0);
    this.#lookahead = shares.length > 1 ? 1 : 0;
  }

  /**
   * Resolves with the release once a slot is granted to `queue`; rejects with the signal's
   * reason if it aborts first (the slot is then never taken).
   */
  acquire(queue: string, signal?: AbortSignal): Promise<ReleaseSlot> {
    const q = this.#queue(queue);
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    return new Promise<ReleaseSlot>((resolve, reject) => {
      const onAbort = (): void => {
        const at = q.waiters.indexOf(waiter);
        if (at < 0) return; // Granted in the same turn: the holder releases it.
        q.waiters.splice(at, 1);
        this.#changed();
        reject(signal?.reason as Error);
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      q.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#dispatch();
      this.#changed();
    });
  }

  /** Deliveries `queue`'s consumer should hold now (running plus waiting for a slot). */
  holdLimit(queue: string): number {
    const q = this.#queue(queue);
    const free = this.total - this.#running;
    const share = Math.ceil((free * q.weight) / this.#totalWeight);
    return Math.min(q.cap, q.running + Math.max(this.#lookahead, share));
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

  /** Smooth weighted round robin (as nginx balances upstreams) over the eligible queues. */
  #pick(): QueueSlots | undefined {
    let best: QueueSlots | undefined;
    let eligibleWeight = 0;
    for (const q of this.#queues.values()) {
      if (q.waiters.length === 0 || q.running >= q.cap) continue;
      q.credit += q.weight;
      eligibleWeight += q.weight;
      if (best === undefined || q.credit > best.credit) best = q;
    }
    if (best !== undefined) best.credit -= eligibleWeight;
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

/**
 * The in-memory model of one queue, the reference implementation of the QueueBackend contract.
 * Every message is in one of three states; heap entries carry the message's `version` at the
 * time they were pushed, and an entry whose version is stale is simply skipped when popped.
 *
 * - ready:   in `ready[priority]`, ordered by id (publish order)
 * - waiting: in `timed`, visible at `visibleAt` (delayed, or retried with a delay)
 * - leased:  in `timed` too: when the lease lapses the message becomes ready again
 *
 * A message with a partition key that is not the oldest of its key is in no heap at all: it
 * is scheduled when the messages before it are gone (acked or dead-lettered).
 *
 * @module
 */
import { PRIORITY_MAX } from '../../../core/request/envelope.js';
import type { DeadLetter, DeadLetterPage, QueueStats } from '../../../ports/queue-backend.js';
import type { DeadLetterBounds } from '../../shared/dead-letters.js';
import { Heap } from './heap.js';

export interface StoredMessage {
  readonly id: number;
  readonly body: string;
  readonly priority: number;
  readonly partitionKey: string | null;
  readonly enqueuedAt: number;
  state: 'ready' | 'waiting' | 'leased';
  visibleAt: number;
  attempts: number;
  lease: string | null;
  version: number;
}

interface Entry {
  readonly id: number;
  readonly version: number;
  readonly at: number;
}

export class QueueState {
  readonly messages = new Map<number, StoredMessage>();
  /** Oldest first; bounded by `bounds` (see `bury`). */
  #dead: DeadLetter[] = [];
  /** The last dead-letter id given out: ids grow, so `#dead` is ordered by id too. */
  #deadSeq = 0;
  readonly #ready = Array.from({ length: PRIORITY_MAX + 1 }, () => new Heap<Entry>((a, b) => a.id < b.id));
  readonly #timed = new Heap<Entry>((a, b) => a.at < b.at);
  /** Ids of the messages of each partition key, oldest first; the first is the head. */
  readonly #byKey = new Map<string, number[]>();

  add(message: StoredMessage): void {
    this.messages.set(message.id, message);
    if (message.partitionKey !== null) {
      const ids = this.#byKey.get(message.partitionKey) ?? [];
      ids.push(message.id);
      this.#byKey.set(message.partitionKey, ids);
      if (ids.length > 1) return; // Waits for the messages before it.
    }
    this.#schedule(message);
  }

  /** Forgets a settled message; the next message of its key, if any, becomes schedulable. */
  remove(message: StoredMessage): void {
    this.messages.delete(message.id);
    message.version += 1; // Its heap entries are stale from now on.
    const key = message.partitionKey;
    if (key === null) return;
    const ids = this.#byKey.get(key) ?? [];
    const at = ids.indexOf(message.id);
    if (at >= 0) ids.splice(at, 1);
    if (ids.length === 0) {
      this.#byKey.delete(key);
      return;
    }
    if (at === 0) {
      const next = this.messages.get(ids[0] as number);
      if (next !== undefined) this.#schedule(next);
    }
  }

  /** Moves due messages to ready, then leases up to `limit` of them. */
  claim(limit: number, now: number, until: number, lease: string): StoredMessage[] {
    this.#promoteDue(now);
    const claimed: StoredMessage[] = [];
    for (let p = PRIORITY_MAX; p >= 0 && claimed.length < limit; p -= 1) {
      const heap = this.#ready[p] as Heap<Entry>;
      while (claimed.length < limit && heap.size > 0) {
        const entry = heap.pop() as Entry;
        const message = this.messages.get(entry.id);
        if (message === undefined || message.version !== entry.version || message.state !== 'ready') continue;
        message.state = 'leased';
        message.lease = lease;
        message.attempts += 1;
        message.visibleAt = until;
        this.#bump(message);
        claimed.push(message);
      }
    }
    return claimed;
  }

  /** Returns the message if `lease` still holds it. */
  held(id: number, lease: string): StoredMessage | undefined {
    const message = this.messages.get(id);
    return message !== undefined && message.state === 'leased' && message.lease === lease ? message : undefined;
  }

  /** Makes a held message wait until `at` (retry, release) or extends its lease. */
  reschedule(message: StoredMessage, at: number, state: 'waiting' | 'leased'): void {
    message.state = state;
    message.visibleAt = at;
    if (state === 'waiting') message.lease = null;
    this.#bump(message);
  }

  nextDueAt(): number | undefined {
    for (;;) {
      const top = this.#timed.peek();
      if (top === undefined) return undefined;
      const message = this.messages.get(top.id);
      if (message !== undefined && message.version === top.version) return top.at;
      this.#timed.pop();
    }
  }

  /** Keeps a dead letter, dropping the oldest beyond the bounds. */
  bury(letter: Omit<DeadLetter, 'id'>, bounds: DeadLetterBounds): void {
    this.#deadSeq += 1;
    this.#dead.push({ ...letter, id: String(this.#deadSeq) });
    this.#trimDead(letter.deadLetteredAt, bounds);
  }

  /** The dead letters still kept at `now`, oldest first. */
  deadLetters(now: number, bounds: DeadLetterBounds): readonly DeadLetter[] {
    this.#trimDead(now, bounds);
    return this.#dead;
  }

  /** Newest first, older than the id `before` when given. */
  deadPage(now: number, bounds: DeadLetterBounds, limit: number, before: number): DeadLetterPage {
    const kept = this.deadLetters(now, bounds);
    let end = kept.length;
    while (end > 0 && Number((kept[end - 1] as DeadLetter).id) >= before) end -= 1;
    const letters = kept.slice(Math.max(0, end - limit), end).reverse();
    const more = end - letters.length > 0;
    return { letters, next: more ? (letters.at(-1) as DeadLetter).id : null };
  }

  findDead(id: string, now: number, bounds: DeadLetterBounds): DeadLetter | undefined {
    return this.deadLetters(now, bounds).find((letter) => letter.id === id);
  }

  removeDead(id: string): boolean {
    const at = this.#dead.findIndex((letter) => letter.id === id);
    if (at >= 0) this.#dead.splice(at, 1);
    return at >= 0;
  }

  /** Drops the dead letters dead-lettered before `before`; returns how many. */
  purgeDead(before: number): number {
    const kept = this.#dead.filter((letter) => letter.deadLetteredAt >= before);
    const purged = this.#dead.length - kept.length;
    this.#dead = kept;
    return purged;
  }

  stats(now: number, bounds: DeadLetterBounds): QueueStats {
    let inFlight = 0;
    let delayed = 0;
    let oldestReadyAt: number | null = null;
    for (const message of this.messages.values()) {
      if (message.visibleAt <= now) {
        // Ready, due, or a lapsed lease: visible since visibleAt.
        if (oldestReadyAt === null || message.visibleAt < oldestReadyAt) oldestReadyAt = message.visibleAt;
        continue;
      }
      if (message.state === 'leased') inFlight += 1;
      else if (message.state === 'waiting') delayed += 1;
    }
    return { depth: this.messages.size - inFlight, delayed, inFlight, deadLettered: this.deadLetters(now, bounds).length, oldestReadyAt };
  }

  #trimDead(now: number, bounds: DeadLetterBounds): void {
    const cutoff = now - bounds.retentionMs;
    let drop = Math.max(0, this.#dead.length - bounds.max);
    while (drop < this.#dead.length && (this.#dead[drop] as DeadLetter).deadLetteredAt < cutoff) drop += 1;
    if (drop > 0) this.#dead = this.#dead.slice(drop);
  }

  #bump(message: StoredMessage): void {
    message.version += 1;
    this.#schedule(message);
  }

  #schedule(message: StoredMessage): void {
    const entry = { id: message.id, version: message.version, at: message.visibleAt };
    if (message.state === 'ready') (this.#ready[message.priority] as Heap<Entry>).push(entry);
    else this.#timed.push(entry);
  }

  #promoteDue(now: number): void {
    for (;;) {
      const top = this.#timed.peek();
      if (top === undefined || top.at > now) return;
      this.#timed.pop();
      const message = this.messages.get(top.id);
      if (message === undefined || message.version !== top.version) continue;
      // A lapsed lease or a delay that ran out: the message is ready again.
      message.state = 'ready';
      message.lease = null;
      this.#bump(message);
    }
  }
}

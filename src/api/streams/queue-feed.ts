/**
 * The live queue table behind `GET /api/v1/queues` with `Accept: text/event-stream`: one
 * reader per API process, however many streams watch it. While anyone listens it reads the
 * listing every `intervalMs` — the next read is scheduled only once the previous one has
 * answered, so a slow backend is never asked twice at once — and hands each snapshot (or the
 * error it met) to every listener. With no listener it reads nothing and holds no timer.
 *
 * A listener that joins between reads gets the latest snapshot at once, so a new stream does
 * not wait a whole interval for its first table.
 *
 * @module
 */

/** What one read produced: the listing, or why there is none this time. */
export type QueueSnapshot<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

export type QueueListener<T> = (snapshot: QueueSnapshot<T>) => void;

export class QueueFeed<T> {
  readonly #listeners = new Set<QueueListener<T>>();
  #latest: QueueSnapshot<T> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reading = false;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly intervalMs: number,
  ) {}

  /** Starts reading if nobody was listening; returns the way to stop listening (idempotent). */
  subscribe(listener: QueueListener<T>): () => void {
    // A wrapper per subscription: two streams may hand in the same function.
    const entry: QueueListener<T> = (snapshot) => listener(snapshot);
    this.#listeners.add(entry);
    if (this.#latest !== undefined) entry(this.#latest);
    // Else a read is on its way (its answer will reach this listener too), or one starts now.
    else if (!this.#reading) this.#tick();
    return () => {
      if (!this.#listeners.delete(entry) || this.#listeners.size > 0) return;
      // Nobody left: no timer, and no table kept that would be stale for the next one to come.
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#latest = undefined;
    };
  }

  /** Listeners now. */
  get listeners(): number {
    return this.#listeners.size;
  }

  #tick(): void {
    this.#timer = undefined;
    this.#reading = true;
    void this.read().then(
      (value) => this.#publish({ ok: true, value }),
      (error: unknown) => this.#publish({ ok: false, error }),
    );
  }

  #publish(snapshot: QueueSnapshot<T>): void {
    this.#reading = false;
    if (this.#listeners.size === 0) return; // everyone left while it was read
    this.#latest = snapshot;
    for (const listener of [...this.#listeners]) listener(snapshot);
    this.#timer = setTimeout(() => this.#tick(), this.intervalMs);
    // Never what keeps the process alive: shutdown ends the streams, and with them the feed.
    this.#timer.unref();
  }
}

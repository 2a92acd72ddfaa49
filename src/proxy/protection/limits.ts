/**
 * Per-endpoint limits of one worker process: how many calls may be in flight, and how many
 * may start per second (a token bucket with a burst of one second's worth).
 *
 * @module
 */

/** A counting semaphore; waiters are served in arrival order. */
export class ConcurrencyLimit {
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly max: number) {}

  get active(): number {
    return this.#active;
  }

  async acquire(signal: AbortSignal): Promise<void> {
    if (this.#active < this.max) {
      this.#active += 1;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const index = this.#waiting.indexOf(grant);
        if (index >= 0) this.#waiting.splice(index, 1);
        reject(signal.reason as Error);
      };
      this.#waiting.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next(); // The slot passes straight to the next waiter.
    else this.#active -= 1;
  }
}

/** Token bucket: `rate` tokens per second, holding at most max(1, rate). */
export class RateLimit {
  #tokens: number;
  #updated: number;
  readonly #capacity: number;

  constructor(
    readonly rate: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#capacity = Math.max(1, rate);
    this.#tokens = this.#capacity;
    this.#updated = now();
  }

  /**
   * Takes a token if one is available within `maxWaitMs`, and returns how long to wait for
   * it (0: go now); returns null, taking nothing, if the wait would be longer.
   */
  reserve(maxWaitMs: number): number | null {
    const now = this.now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#updated) / 1000) * this.rate);
    this.#updated = now;
    const waitMs = this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) / this.rate) * 1000);
    if (waitMs > maxWaitMs) return null;
    this.#tokens -= 1;
    return waitMs;
  }

  /** How long until a token is free, when `reserve` refused. */
  nextTokenInMs(): number {
    return Math.ceil((Math.max(0, 1 - this.#tokens) / this.rate) * 1000);
  }
}

/**
 * A circuit breaker per endpoint (per worker process): after `failureThreshold` consecutive
 * failures the circuit opens and calls are refused for `resetMs`; then one probe is let
 * through (half-open) — success closes the circuit, failure opens it again.
 *
 * @module
 */
export type CircuitState = 'closed' | 'open' | 'half_open';

export type Admission = { readonly allowed: true; readonly probe: boolean } | { readonly allowed: false; readonly retryInMs: number };

export class CircuitBreaker {
  #state: CircuitState = 'closed';
  #failures = 0;
  #openUntil = 0;
  #probing = false;

  constructor(
    private readonly failureThreshold: number,
    private readonly resetMs: number,
    private readonly onChange: (state: CircuitState) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): CircuitState {
    return this.#state;
  }

  admit(): Admission {
    if (this.failureThreshold === 0 || this.#state === 'closed') return { allowed: true, probe: false };
    const now = this.now();
    if (this.#state === 'open') {
      if (now < this.#openUntil) return { allowed: false, retryInMs: this.#openUntil - now };
      this.#set('half_open');
    }
    if (this.#probing) return { allowed: false, retryInMs: Math.min(1000, this.resetMs) };
    this.#probing = true;
    return { allowed: true, probe: true };
  }

  success(): void {
    this.#failures = 0;
    this.#probing = false;
    if (this.#state !== 'closed') this.#set('closed');
  }

  failure(): void {
    this.#probing = false;
    if (this.failureThreshold === 0) return;
    this.#failures += 1;
    if (this.#state === 'half_open' || this.#failures >= this.failureThreshold) {
      this.#openUntil = this.now() + this.resetMs;
      this.#set('open');
    }
  }

  /** A probe that ended without telling (aborted): let the next caller probe. */
  abandon(probe: boolean): void {
    if (probe) this.#probing = false;
  }

  #set(state: CircuitState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.onChange(state);
  }
}

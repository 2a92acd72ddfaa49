/**
 * Everything that stands between a request and an endpoint, in order: the circuit breaker
 * (refuse at once while open), the concurrency limit (wait for a slot), the rate limit (wait
 * briefly for a token). A request refused by the breaker, or facing a long rate-limit wait,
 * is deferred: it goes back to the queue without counting an attempt.
 *
 * All limits hold per worker process; across N processes an endpoint sees up to N times them.
 *
 * @module
 */
import { setTimeout } from 'node:timers/promises';
import { DeferralError } from '../../core/errors.js';
import { CircuitBreaker, type CircuitState } from './circuit-breaker.js';
import { ConcurrencyLimit, RateLimit } from './limits.js';

/** Waits longer than this for a rate-limit token give the worker slot back instead. */
const MAX_RATE_WAIT_MS = 1000;

export interface GuardSpec {
  readonly name: string;
  readonly maxConcurrency: number | null;
  readonly ratePerSecond: number | null;
  readonly breaker: { readonly failureThreshold: number; readonly resetMs: number };
}

export interface Pass {
  /** Reports how the call went: `ok: false` for connection errors, timeouts, 5xx and 429. */
  done(ok: boolean | 'unknown'): void;
}

export class EndpointGuard {
  readonly breaker: CircuitBreaker;
  readonly #concurrency: ConcurrencyLimit | undefined;
  readonly #rate: RateLimit | undefined;

  constructor(
    readonly spec: GuardSpec,
    onCircuitChange: (state: CircuitState) => void,
  ) {
    this.breaker = new CircuitBreaker(spec.breaker.failureThreshold, spec.breaker.resetMs, onCircuitChange);
    this.#concurrency = spec.maxConcurrency === null ? undefined : new ConcurrencyLimit(spec.maxConcurrency);
    this.#rate = spec.ratePerSecond === null ? undefined : new RateLimit(spec.ratePerSecond);
  }

  async enter(signal: AbortSignal): Promise<Pass> {
    const admission = this.breaker.admit();
    if (!admission.allowed) {
      throw new DeferralError('HQM_ERR_CIRCUIT_OPEN', `the circuit of endpoint ${this.spec.name} is open; the request waits in the queue`, admission.retryInMs);
    }
    try {
      await this.#concurrency?.acquire(signal);
    } catch (error) {
      this.breaker.abandon(admission.probe);
      throw error;
    }
    const release = (): void => this.#concurrency?.release();
    const wait = this.#rate?.reserve(MAX_RATE_WAIT_MS);
    if (wait === null) {
      release();
      this.breaker.abandon(admission.probe);
      throw new DeferralError('HQM_ERR_OVERLOADED', `endpoint ${this.spec.name} is at its rate limit; the request waits in the queue`, this.#rate?.nextTokenInMs() ?? 1000);
    }
    if (wait !== undefined && wait > 0) {
      try {
        await setTimeout(wait, undefined, { signal });
      } catch (error) {
        release();
        this.breaker.abandon(admission.probe);
        throw error;
      }
    }
    let finished = false;
    return {
      done: (ok) => {
        if (finished) return;
        finished = true;
        release();
        if (ok === true) this.breaker.success();
        else if (ok === false) this.breaker.failure();
        else this.breaker.abandon(admission.probe);
      },
    };
  }
}

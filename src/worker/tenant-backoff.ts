/**
 * When a delivery refused for its tenant's concurrency limit comes back. The refused message
 * goes back to the queue without counting an attempt; if it came straight back, the consumer
 * would spin on the flooding tenant's messages at the head of the queue and never reach the
 * other tenants' behind them. So each tenant's refused deliveries are spread out in time, one
 * `spacingMs` after the other (a per-tenant horizon, like a leaky bucket): whatever the size of
 * the tenant's backlog, its messages come back to this process at about one per `spacingMs`,
 * which leaves the consumer free for everybody else, while a slot that frees up still finds one
 * of the tenant's messages within about `spacingMs`. A small backlog comes back after `minMs`.
 *
 * @module
 */

export interface TenantBackoffOptions {
  /** Shortest delay: a lone refused message does not come back faster than this. */
  readonly minMs: number;
  /** Gap between two refused messages of one tenant coming back. */
  readonly spacingMs: number;
  /** Longest delay (the horizon stops growing here: a huge backlog comes back faster). */
  readonly maxMs: number;
}

export const TENANT_BACKOFF: TenantBackoffOptions = { minMs: 100, spacingMs: 10, maxMs: 60_000 };

/** Horizons of tenants no longer refused are dropped once this many are kept. */
const PRUNE_ABOVE = 1000;

export class TenantBackoff {
  readonly #horizon = new Map<string, number>();

  constructor(
    private readonly options: TenantBackoffOptions = TENANT_BACKOFF,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay for the next refused delivery of `tenant`. */
  delayFor(tenant: string): number {
    const { minMs, spacingMs, maxMs } = this.options;
    const now = this.now();
    const horizon = Math.min(now + maxMs, Math.max(now + minMs, (this.#horizon.get(tenant) ?? 0) + spacingMs));
    this.#horizon.set(tenant, horizon);
    if (this.#horizon.size > PRUNE_ABOVE) this.#prune(now);
    // The jitter keeps worker processes that refuse at the same moment from coming back in step.
    return horizon - now + Math.floor(this.random() * spacingMs);
  }

  #prune(now: number): void {
    for (const [tenant, horizon] of this.#horizon) if (horizon <= now) this.#horizon.delete(tenant);
  }
}

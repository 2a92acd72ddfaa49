/**
 * A tenant's submit rate (auth.tenants.<t>.rate_per_second and burst) as the fixed window a
 * counting rate limiter enforces: `burst` submits per `burst / rate` seconds. Over a long run
 * that is `rate` per second; at a window's edge a client can send up to two bursts back to back
 * (the price of a counter that one Redis INCR keeps across processes; see D72).
 *
 * @module
 */

export interface TenantRateSettings {
  readonly rate_per_second?: number | null | undefined;
  readonly burst?: number | null | undefined;
}

export interface RateWindow {
  /** Submits allowed in one window. */
  readonly max: number;
  readonly windowMs: number;
}

/** The window of a tenant: its own keys, each else the default's; null: not limited. */
export function rateWindowOf(tenants: Readonly<Record<string, TenantRateSettings>>, fallback: TenantRateSettings, tenant: string | null): RateWindow | null {
  if (tenant === null) return null;
  const own = Object.hasOwn(tenants, tenant) ? tenants[tenant] : undefined;
  const rate = own?.rate_per_second === undefined ? (fallback.rate_per_second ?? null) : own.rate_per_second;
  if (rate === null) return null;
  const burst = (own?.burst === undefined ? fallback.burst : own.burst) ?? Math.max(1, Math.ceil(rate));
  return { max: burst, windowMs: Math.max(1, Math.round((burst / rate) * 1000)) };
}

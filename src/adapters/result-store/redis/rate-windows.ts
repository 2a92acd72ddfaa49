/**
 * Fixed-window hit counts in Redis, shared by every process on the server: one counter key per
 * window, which expires when its window closes. The key is its own hash tag, so a Redis Cluster
 * places each counter whole on one node.
 *
 * @module
 */
import type { RateWindows } from '../../../ports/result-store.js';
import { defineScript, type RedisClient, type ScriptCall } from '../../shared/redis/client.js';
import { guarded } from '../../shared/redis/errors.js';

/**
 * KEYS[1] the counter   ARGV[1] the window (ms)
 * Returns {hits in the window, ms until it closes}. A counter found without an expiry (a crash
 * between the two writes cannot happen in a script, but a hand-made key can) gets one.
 */
const HIT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { count, ttl }
`;

export class RedisRateWindows implements RateWindows {
  readonly #hit: ScriptCall;

  constructor(
    client: RedisClient,
    private readonly prefix: string,
  ) {
    this.#hit = defineScript(client, 'hqmRateHit', 1, HIT);
  }

  async hit(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }> {
    const [count, ttl] = (await guarded('counting a rate window', this.#hit([`${this.prefix}:rate:{${key}}`], [Math.max(1, Math.round(windowMs))]))) as [number, number];
    return { count, resetInMs: ttl };
  }
}

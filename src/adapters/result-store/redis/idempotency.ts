/**
 * Idempotency-Key reservations in Redis: one string key per (scope, key), holding
 * `{"f": fingerprint, "ids": [...]}` and expiring with the reservation. Claim and release are
 * scripts, so a reserve-or-read and a release-if-still-ours are each one atomic step.
 *
 *   <prefix>:idem:<sha256 of [scope, key]>   the hash keeps a client's long key out of Redis key names
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { IdempotencyClaim, IdempotencyClaimResult } from '../../../ports/result-store.js';
import { defineScript, type RedisClient, type ScriptCall } from '../../shared/redis/client.js';
import { guarded } from '../../shared/redis/errors.js';

/** KEYS[1] claim   ARGV[1] value   ARGV[2] ttl (ms). Returns the held value, or false once claimed. */
const CLAIM = `
local held = redis.call('GET', KEYS[1])
if held then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`;

/** KEYS[1] claim   ARGV[1] the first id. Deletes the claim only while that submit holds it. */
const RELEASE = `
local held = redis.call('GET', KEYS[1])
if not held then return 0 end
local ids = cjson.decode(held).ids
if ids[1] ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`;

export class RedisIdempotency {
  readonly #claim: ScriptCall;
  readonly #release: ScriptCall;

  constructor(
    client: RedisClient,
    private readonly prefix: string,
  ) {
    this.#claim = defineScript(client, 'hqmIdempotencyClaim', 1, CLAIM);
    this.#release = defineScript(client, 'hqmIdempotencyRelease', 1, RELEASE);
  }

  async claim(claim: IdempotencyClaim): Promise<IdempotencyClaimResult> {
    const value = JSON.stringify({ f: claim.fingerprint, ids: claim.ids });
    const held = await guarded('claiming an idempotency key', this.#claim([this.#key(claim.scope, claim.key)], [value, Math.max(1, Math.ceil(claim.ttlMs))]));
    if (typeof held !== 'string') return { created: true };
    const parsed = JSON.parse(held) as { f: string; ids: string[] };
    return { created: false, ids: parsed.ids, fingerprint: parsed.f };
  }

  async release(scope: string, key: string, firstId: string): Promise<void> {
    await guarded('releasing an idempotency key', this.#release([this.#key(scope, key)], [firstId]));
  }

  #key(scope: string, key: string): string {
    return `${this.prefix}:idem:${createHash('sha256').update(JSON.stringify([scope, key])).digest('hex')}`;
  }
}

/**
 * The replay of a dead letter in the Redis store: one script moves a FAILED or TIMEOUT record
 * back to PENDING (core/request/replay.ts says how), appends its trail event, re-arms both
 * keys' expiry and publishes the change, on the record's slot. Like the transition script it
 * does not restate the rules: it gets the statuses a replay may start from, and the caller
 * applies the same `replayed` to the record as it was to know the new one.
 *
 * @module
 */
import { replayed, REPLAY_FROM, type ReplayChange } from '../../../core/request/replay.js';
import type { RequestRecord } from '../../../core/request/record.js';
import type { TransitionResult } from '../../../ports/result-store.js';
import { defineScript, type RedisClient, type ScriptCall } from '../../shared/redis/client.js';
import { guarded } from '../../shared/redis/errors.js';
import { currentHash, fromHash, pairs } from './records.js';

/**
 * KEYS[1] record hash   KEYS[2] events list
 * ARGV[1] request id   ARGV[2] now (ms)   ARGV[3] new deadline (ms) or '' for none
 * ARGV[4] change-feed channel   ARGV[5] origin tag of the writing store   ARGV[6..] statuses a replay may start from
 * Returns {0} not found, {1, {field, value, …}} conflict with the current record,
 *         {2, {s, a, q, p, t, u, d, x, l, w, g, e, n}} applied: the record as it was before.
 */
const REPLAY = `
local cur = redis.call('HMGET', KEYS[1], 's', 'a', 'q', 'p', 't', 'u', 'd', 'x', 'l', 'w', 'g', 'e', 'n')
local status = cur[1]
if not status then return { 0 } end
local allowed = false
for i = 6, #ARGV do
  if ARGV[i] == status then allowed = true; break end
end
if not allowed then return { 1, redis.call('HGETALL', KEYS[1]) } end
local now = tonumber(ARGV[2])
local due = now
if ARGV[3] ~= '' and tonumber(ARGV[3]) > now then due = tonumber(ARGV[3]) end
local expires = tostring(due + tonumber(cur[9] or '0'))
redis.call('HSET', KEYS[1], 's', 'PENDING', 'a', '0', 'u', ARGV[2], 'x', expires)
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'd', ARGV[3]) else redis.call('HDEL', KEYS[1], 'd') end
redis.call('HDEL', KEYS[1], 'w', 'g', 'e', 'o')
redis.call('RPUSH', KEYS[2], cjson.encode({ at = now, f = status, t = 'PENDING', a = 0 }))
redis.call('PEXPIREAT', KEYS[1], expires)
redis.call('PEXPIREAT', KEYS[2], expires)
redis.call('PUBLISH', ARGV[4], ARGV[5] .. '|PENDING|' .. ARGV[1])
return { 2, cur }
`;

export class RedisReplay {
  readonly #script: ScriptCall;

  constructor(client: RedisClient) {
    this.#script = defineScript(client, 'hqmStoreReplay', 2, REPLAY);
  }

  async replay(keys: readonly string[], request: ReplayChange, feed: { channel: string; origin: string }): Promise<TransitionResult> {
    const now = Date.now();
    const args = [request.id, now, request.deadlineAt === null ? '' : request.deadlineAt, feed.channel, feed.origin, ...REPLAY_FROM];
    const [code, values = []] = (await guarded('replaying a request', this.#script(keys, args))) as [number, Array<string | null>?];
    if (code === 0) return { ok: false, reason: 'not_found' };
    if (code === 1) {
      const current = fromHash(request.id, pairs(values as string[]));
      return current === undefined ? { ok: false, reason: 'not_found' } : { ok: false, reason: 'conflict', current };
    }
    const before = fromHash(request.id, currentHash(values), null) as RequestRecord;
    return { ok: true, record: replayed(before, request.deadlineAt, now).record };
  }
}

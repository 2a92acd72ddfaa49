/**
 * The Lua scripts of the Redis result store. A record and its audit trail share the request id
 * as hash tag (`{id}`), so each script touches one cluster slot and runs atomically.
 *
 * The compare-and-set does not restate the lifecycle: it receives the rules compiled by
 * `compileTransition` (core/request/transition.ts) — the statuses the move may start from
 * (already narrowed by the lifecycle table), the attempt fence as (holder status, same|later),
 * and the fields to write — and only interprets them. Status, outcome, timestamps and the
 * event land in one script, so no reader ever sees COMPLETED without its result, and a late
 * duplicate finds a terminal status outside every `from` list and changes nothing.
 *
 * @module
 */
import { defineScript, type RedisClient, type ScriptCall } from '../../shared/redis/client.js';

/**
 * Creates a PENDING record unless one exists (an expired one does not: Redis dropped it, and
 * its events list, which always expires with it).
 * KEYS[1] record hash   KEYS[2] events list (untouched: a new record has no events yet)
 * ARGV[1] expiresAt (ms)   ARGV[2..] field, value, … of the record
 * Returns 1 when created, 0 when the id is taken.
 */
const CREATE = `
if redis.call('HSETNX', KEYS[1], 's', 'PENDING') == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
`;

/**
 * The compare-and-set.
 * KEYS[1] record hash   KEYS[2] events list
 * ARGV[1] request id   ARGV[2] now (ms)   ARGV[3] target status   ARGV[4] attempt
 * ARGV[5] fence holder status   ARGV[6] fence rule: 'same' | 'later'
 * ARGV[7] '1' to restart the TTL (terminal target)
 * ARGV[8] worker id: 'keep' | 'set' | 'clear'    ARGV[9] the worker id when 'set'
 * ARGV[10] error: 'keep' | 'set' | 'clear'       ARGV[11] the error when 'set'
 * ARGV[12] event error: 'set' | 'clear'          ARGV[13] the event's error when 'set'
 * ARGV[14] '1' to reset progress   ARGV[15] outcome JSON, or '' for none
 * ARGV[16] change-feed channel   ARGV[17] origin tag of the writing store
 * ARGV[18] key prefix of the per-tenant slot sets ('' on a cluster: none kept)   ARGV[19] the claim's tenant limit, or '' for none
 * ARGV[20] a claim (D130): its lease in ms, or '' for a plain transition. A claim is refused as
 *          held ({4, …}) while the record is PROCESSING under a live lease ('lu'); otherwise its
 *          attempt is the record's plus one (ARGV[4] and ARGV[21] are ignored) and 'lu' is set.
 * ARGV[21] the attempt the record keeps (ARGV[4], or one less for a refund)
 * ARGV[22..] statuses the record may be in
 * Returns {0} not found, {1, {field, value, …}} conflict with the current record,
 *         {3, {field, value, …}} tenant busy: the claim would exceed the tenant limit,
 *         {4, {field, value, …}} held: another attempt's lease is live,
 *         {2, {s, a, q, p, t, u, d, x, l, w, g, e, n, ra}} applied: the record as it was before, without
 *         its outcome, on which the caller applies the same writes (applyWrites) to know the new one
 *         (for a claim, with the attempt it read plus one).
 */
const TRANSITION = `
local cur = redis.call('HMGET', KEYS[1], 's', 'a', 'q', 'p', 't', 'u', 'd', 'x', 'l', 'w', 'g', 'e', 'n', 'ra')
local status = cur[1]
if not status then return { 0 } end

local now = ARGV[2]
local claim = ARGV[20] ~= ''
local attempt, kept = ARGV[4], ARGV[21]
if claim then
  if status == 'PROCESSING' then
    local lease = redis.call('HGET', KEYS[1], 'lu')
    if lease and tonumber(lease) > tonumber(now) then return { 4, redis.call('HGETALL', KEYS[1]) } end
  end
  attempt = tostring(tonumber(cur[2]) + 1)
  kept = attempt
end

local allowed = false
for i = 22, #ARGV do
  if ARGV[i] == status then allowed = true; break end
end
if allowed and status == ARGV[5] then
  local holder, mover = tonumber(cur[2]), tonumber(attempt)
  if ARGV[6] == 'later' then allowed = mover > holder else allowed = mover == holder end
end
if not allowed then return { 1, redis.call('HGETALL', KEYS[1]) } end

-- Per-tenant slots: a sorted set of the tenant's PROCESSING ids, each scored with when it
-- stops holding its slot (its deadline, else its expiry), so an id left behind by a lost
-- worker drops out by itself. Not a declared key: the tenant is only known from the record
-- (hence no Redis Cluster; see capabilities.tenantConcurrency).
local tenant = cur[13]
-- An empty prefix (Redis Cluster) keeps no slots at all: the key would live on another node.
local slots = tenant and ARGV[18] ~= '' and (ARGV[18] .. tenant)
if slots then redis.call('ZREMRANGEBYSCORE', slots, '-inf', now) end
if slots and ARGV[19] ~= '' and ARGV[3] == 'PROCESSING' and status ~= 'PROCESSING' then
  if redis.call('ZCARD', slots) >= tonumber(ARGV[19]) then return { 3, redis.call('HGETALL', KEYS[1]) } end
end
local set = { 's', ARGV[3], 'a', kept, 'u', now }
if claim then set[#set + 1] = 'lu'; set[#set + 1] = tostring(tonumber(now) + tonumber(ARGV[20])) end
local del = {}
local worker = cur[10]
if ARGV[8] == 'set' then worker = ARGV[9]; set[#set + 1] = 'w'; set[#set + 1] = worker
elseif ARGV[8] == 'clear' then worker = false; del[#del + 1] = 'w' end
if ARGV[10] == 'set' then set[#set + 1] = 'e'; set[#set + 1] = ARGV[11]
elseif ARGV[10] == 'clear' then del[#del + 1] = 'e' end
if ARGV[14] == '1' then del[#del + 1] = 'g' end
if ARGV[15] ~= '' then set[#set + 1] = 'o'; set[#set + 1] = ARGV[15] else del[#del + 1] = 'o' end
local restart = ARGV[7] == '1'
local expires = cur[8]
if restart then
  expires = tostring(tonumber(now) + tonumber(cur[9]))
  set[#set + 1] = 'x'; set[#set + 1] = expires
end
redis.call('HSET', KEYS[1], unpack(set))
if #del > 0 then redis.call('HDEL', KEYS[1], unpack(del)) end

local event = { at = tonumber(now), f = status, t = ARGV[3], a = tonumber(attempt) }
if worker then event.w = worker end
if ARGV[12] == 'set' then event.e = ARGV[13] end
-- The trail expires with the record: set when the list is created and whenever the TTL restarts.
if redis.call('RPUSH', KEYS[2], cjson.encode(event)) == 1 or restart then redis.call('PEXPIREAT', KEYS[2], expires) end
if restart then redis.call('PEXPIREAT', KEYS[1], expires) end
if slots and ARGV[3] == 'PROCESSING' then
  local held = cur[7] and math.min(tonumber(cur[7]), tonumber(expires)) or tonumber(expires)
  redis.call('ZADD', slots, held, ARGV[1])
  local last = redis.call('ZRANGE', slots, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', slots, last[2])
elseif slots and status == 'PROCESSING' then
  redis.call('ZREM', slots, ARGV[1])
end
redis.call('PUBLISH', ARGV[16], ARGV[17] .. '|' .. ARGV[3] .. '|' .. ARGV[1])
return { 2, cur }
`;

/**
 * Progress of the attempt holding the record.
 * KEYS[1] record hash   ARGV[1] attempt   ARGV[2] progress   ARGV[3] now (ms)
 * ARGV[4] change-feed channel   ARGV[5] origin of this process   ARGV[6] correlation id
 * Returns 1 when recorded, 0 when the record is not PROCESSING under that attempt.
 * Published as `<origin>|PROCESSING@<progress>|<id>`: a process that predates progress on the
 * feed reads no status there and ignores it.
 */
const PROGRESS = `
local cur = redis.call('HMGET', KEYS[1], 's', 'a')
if cur[1] ~= 'PROCESSING' or cur[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'g', ARGV[2], 'u', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5] .. '|PROCESSING@' .. ARGV[2] .. '|' .. ARGV[6])
return 1
`;

/**
 * A note in the trail of a live record, stamped with its status and attempt.
 * KEYS[1] record hash   KEYS[2] events list   ARGV[1] now (ms)   ARGV[2] the note (JSON)
 * Returns 1 when appended, 0 when the record is gone.
 */
const NOTE = `
local cur = redis.call('HMGET', KEYS[1], 's', 'a', 'x')
if not cur[1] then return 0 end
local event = { at = tonumber(ARGV[1]), f = cur[1], t = cur[1], a = tonumber(cur[2]), n = ARGV[2] }
if redis.call('RPUSH', KEYS[2], cjson.encode(event)) == 1 then redis.call('PEXPIREAT', KEYS[2], cur[3]) end
return 1
`;

/**
 * Renews the lease of the attempt holding the record (D130).
 * KEYS[1] record hash   ARGV[1] attempt   ARGV[2] the new lease end (ms)
 * Returns 1 when renewed, 0 when the record is not PROCESSING under that attempt.
 */
const RENEW = `
local cur = redis.call('HMGET', KEYS[1], 's', 'a')
if cur[1] ~= 'PROCESSING' or cur[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'lu', ARGV[2])
return 1
`;

/** The bodies a fused pairing runs inside its own scripts (shared/redis/fused.ts, D187). */
export const STORE_LUA = { create: CREATE, transition: TRANSITION } as const;

export interface StoreScripts {
  readonly create: ScriptCall;
  readonly transition: ScriptCall;
  readonly progress: ScriptCall;
  readonly note: ScriptCall;
  readonly renew: ScriptCall;
}

export function storeScripts(client: RedisClient): StoreScripts {
  return {
    create: defineScript(client, 'hqmStoreCreate', 2, CREATE),
    transition: defineScript(client, 'hqmStoreTransition', 2, TRANSITION),
    progress: defineScript(client, 'hqmStoreProgress', 1, PROGRESS),
    note: defineScript(client, 'hqmStoreNote', 2, NOTE),
    renew: defineScript(client, 'hqmStoreRenewLease', 1, RENEW),
  };
}

/**
 * The Lua scripts of the Redis queue. Each runs atomically on the node that owns the queue's
 * slot (all its keys share the `{queue}` hash tag), so no reader ever sees half an operation.
 *
 * A delivery is identified by its lease: (stream, entry id, consumer, delivery count). The
 * count comes from the stream's pending-entries list (PEL) and grows by one each time a lapsed
 * delivery is re-claimed, so a settle from a delivery that lapsed and went to someone else —
 * or to the same consumer again — finds a different count and changes nothing.
 *
 * Settling always XACKs *and* XDELs the entry: a stream only ever holds messages that are
 * waiting or in flight, so it stays bounded without a trimming pass (see docs/adapters.md).
 *
 * Per-key order (decision D26): of the messages that share a partition key only the oldest, the
 * key's *head*, is in a stream or the delayed set; the rest wait in the key's list. Publishing
 * appends to the list unless the key has no head; acknowledging or dead-lettering the head
 * promotes the next one in the same script. Retry, release and a lapsed lease move the head
 * within the streams and the delayed set but leave the `heads` hash alone, so the key stays
 * blocked behind it.
 *
 * @module
 */
import { defineScript, type RedisClient, type ScriptCall } from '../../shared/redis/client.js';
import { BANDS } from './keys.js';

/** How many KEYS PROMOTE takes: heads, the key's list, held, delayed, delayed data, the streams. */
const PARTITION_KEYS = 5 + BANDS;

/** Helpers every script shares. */
const PRELUDE = `
local function fieldmap(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

-- Is entry \`id\` of \`stream\` still held by this delivery (same consumer, same delivery count)?
local function held(stream, group, id, consumer, deliveries)
  local p = redis.pcall('XPENDING', stream, group, id, id, 1)
  if type(p) ~= 'table' or p.err or not p[1] then return false end
  return p[1][2] == consumer and p[1][4] == tonumber(deliveries)
end
`;

/**
 * Settling scripts share their first five ARGV, the lease:
 *   ARGV[1] group   ARGV[2] entry id   ARGV[3] consumer   ARGV[4] delivery count
 *   ARGV[5] lease member "<band>:<entry id>"
 * and their first two KEYS:
 *   KEYS[1] the band stream holding the entry   KEYS[2] leases zset
 */
const SETTLE_PRELUDE = `${PRELUDE}
if not held(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]) then return 0 end

-- Removes the held entry from the stream, the PEL and the leases.
local function drop()
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  redis.call('XDEL', KEYS[1], ARGV[2])
  redis.call('ZREM', KEYS[2], ARGV[5])
end

-- Removes the held entry and returns its fields.
local function take()
  local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
  drop()
  if e[1] then return fieldmap(e[1][2]) end
  return nil
end
`;

/**
 * Shared by the settling scripts that end a message (ack, dead-letter). When they are called
 * with the partition KEYS, the settled message may be the head of its key: the next message of
 * the key, if any, becomes the head — in its band's stream, or in the delayed set until its own
 * due time. `heads[key] == mid` is checked first, so a message that is not the key's head (one
 * added to a stream by hand, say) promotes nothing.
 *
 * KEYS[p] heads   KEYS[p+1] the key's list   KEYS[p+2] held   KEYS[p+3] delayed
 * KEYS[p+4] delayed data   KEYS[p+5..p+14] band streams 0–9
 * A list entry is MessagePack { message id, due (ms), band, stream field, value, … }.
 * Returns the promoted message's due time (ms), or '' when none became the head.
 */
const PROMOTE = `
local function promote(p, key, mid, now)
  if not key or redis.call('HGET', KEYS[p], key) ~= mid then return '' end
  local packed = redis.call('LPOP', KEYS[p + 1])
  if not packed then
    redis.call('HDEL', KEYS[p], key)
    return ''
  end
  local m = cmsgpack.unpack(packed)
  local next_mid, due, band = m[1], m[2], m[3]
  redis.call('HSET', KEYS[p], key, next_mid)
  redis.call('ZREM', KEYS[p + 2], next_mid)
  if tonumber(due) <= tonumber(now) then
    redis.call('XADD', KEYS[p + 5 + tonumber(band)], '*', unpack(m, 4))
  else
    redis.call('HSET', KEYS[p + 4], next_mid, cmsgpack.pack({ band, unpack(m, 4) }))
    redis.call('ZADD', KEYS[p + 3], due, next_mid)
  end
  return due
end
`;

/**
 * Hands out up to `limit` messages: first moves due delayed messages to the tail of their band,
 * then re-claims deliveries whose visibility lapsed (a dead or stuck consumer's), then reads new
 * entries from the highest band down. Every delivery gets a lease in the leases zset.
 *
 * KEYS[1..10] band streams 0..9   KEYS[11] leases   KEYS[12] delayed   KEYS[13] delayed data
 * ARGV[1] group   ARGV[2] consumer   ARGV[3] limit   ARGV[4] now (ms)   ARGV[5] lease deadline (ms)
 * ARGV[6] most delayed messages to promote in one call
 * ARGV[7] '1' to report each band's last-delivered id (for a blocking XREAD wake-up)
 *
 * Returns { next due time (ms, '' if none), { last-delivered id per band } or {},
 *           then per delivery: band, entry id, delivery count, { field, value, … } }
 */
const CLAIM = `${PRELUDE}
local group, consumer = ARGV[1], ARGV[2]
local limit, now, deadline = tonumber(ARGV[3]), ARGV[4], ARGV[5]
local LEASES, DELAYED, DATA = KEYS[11], KEYS[12], KEYS[13]

for _, uid in ipairs(redis.call('ZRANGEBYSCORE', DELAYED, '-inf', now, 'LIMIT', 0, tonumber(ARGV[6]))) do
  local packed = redis.call('HGET', DATA, uid)
  if packed then
    local m = cmsgpack.unpack(packed)
    redis.call('XADD', KEYS[tonumber(m[1]) + 1], '*', unpack(m, 2))
  end
  redis.call('ZREM', DELAYED, uid)
  redis.call('HDEL', DATA, uid)
end

local out = { '', {} }
local n = 0
local function hand_out(band, id, deliveries, fields)
  redis.call('ZADD', LEASES, deadline, band .. ':' .. id)
  out[#out + 1] = band
  out[#out + 1] = id
  out[#out + 1] = deliveries
  out[#out + 1] = fields
  n = n + 1
end

for _, member in ipairs(redis.call('ZRANGEBYSCORE', LEASES, '-inf', now, 'LIMIT', 0, limit)) do
  local sep = string.find(member, ':', 1, true)
  local band = tonumber(string.sub(member, 1, sep - 1))
  local id = string.sub(member, sep + 1)
  local stream = KEYS[band + 1]
  local claimed = redis.pcall('XCLAIM', stream, group, consumer, 0, id)
  if type(claimed) == 'table' and not claimed.err and claimed[1] and claimed[1][2] then
    local p = redis.call('XPENDING', stream, group, id, id, 1)
    hand_out(band, id, p[1][4], claimed[1][2])
  else
    redis.call('ZREM', LEASES, member)
  end
end

for band = 9, 0, -1 do
  local want = limit - n
  if want <= 0 then break end
  local stream = KEYS[band + 1]
  local r = redis.pcall('XREADGROUP', 'GROUP', group, consumer, 'COUNT', want, 'STREAMS', stream, '>')
  if type(r) == 'table' and r.err then
    if string.sub(r.err, 1, 7) ~= 'NOGROUP' then error(r) end
    local made = redis.pcall('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
    if type(made) == 'table' and made.err and string.sub(made.err, 1, 9) ~= 'BUSYGROUP' then error(made) end
    r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', want, 'STREAMS', stream, '>')
  end
  if r then
    for _, e in ipairs(r[1][2]) do hand_out(band, e[1], 1, e[2]) end
  end
end

local d = redis.call('ZRANGE', DELAYED, 0, 0, 'WITHSCORES')
local l = redis.call('ZRANGE', LEASES, 0, 0, 'WITHSCORES')
if d[2] then out[1] = d[2] end
if l[2] and (out[1] == '' or tonumber(l[2]) < tonumber(out[1])) then out[1] = l[2] end

if ARGV[7] == '1' and n < limit then
  for band = 0, 9 do
    local last = '0-0'
    local groups = redis.pcall('XINFO', 'GROUPS', KEYS[band + 1])
    if type(groups) == 'table' and not groups.err then
      for _, g in ipairs(groups) do
        local info = fieldmap(g)
        if info['name'] == group then last = info['last-delivered-id'] end
      end
    end
    out[2][band + 1] = last
  end
end
return out
`;

/**
 * Delayed publish: the message waits in the delayed zset until the claim script moves it.
 * KEYS[1] delayed   KEYS[2] delayed data
 * ARGV[1] uid   ARGV[2] due (ms)   ARGV[3] band   ARGV[4..] stream fields (field, value, …)
 */
const SCHEDULE = `
redis.call('HSET', KEYS[2], ARGV[1], cmsgpack.pack({ unpack(ARGV, 3) }))
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
`;

/**
 * Publish with a partition key: the message becomes the key's head (its band's stream now, or
 * the delayed set) when the key has none; otherwise it waits at the tail of the key's list.
 * KEYS[1] heads   KEYS[2] the key's list   KEYS[3] held   KEYS[4] the band's stream
 * KEYS[5] delayed   KEYS[6] delayed data
 * ARGV[1] partition key   ARGV[2] message id   ARGV[3] due (ms)   ARGV[4] now (ms)   ARGV[5] band
 * ARGV[6..] stream fields (field, value, …)
 * Returns 1 when the message is the key's head, 0 when it waits behind one.
 */
const PUBLISH_KEYED = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  redis.call('RPUSH', KEYS[2], cmsgpack.pack({ ARGV[2], ARGV[3], ARGV[5], unpack(ARGV, 6) }))
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
  return 0
end
if tonumber(ARGV[3]) <= tonumber(ARGV[4]) then
  redis.call('XADD', KEYS[4], '*', unpack(ARGV, 6))
else
  redis.call('HSET', KEYS[6], ARGV[2], cmsgpack.pack({ ARGV[5], unpack(ARGV, 6) }))
  redis.call('ZADD', KEYS[5], ARGV[3], ARGV[2])
end
return 1
`;

/**
 * Done: the entry leaves the stream. KEYS[1..2], ARGV[1..5]: the lease (SETTLE_PRELUDE).
 * For a message with a partition key (called as ackKeyed): KEYS[3..17] the partition KEYS
 * (PROMOTE), ARGV[6] partition key   ARGV[7] message id   ARGV[8] now (ms).
 * Returns 0 if not held, else { 1, due time of the promoted next message of the key or '' }.
 */
const ACK = `${SETTLE_PRELUDE}${PROMOTE}
drop()
if #KEYS == 2 then return { 1, '' } end
return { 1, promote(3, ARGV[6], ARGV[7], ARGV[8]) }
`;

/** Heartbeat. KEYS, ARGV[1..5]: the lease; ARGV[6] new visibility deadline (ms). */
const EXTEND = `${SETTLE_PRELUDE}
redis.call('ZADD', KEYS[2], 'XX', ARGV[6], ARGV[5])
return 1
`;

/**
 * Retry or release: the entry leaves the stream and comes back as a new entry at the tail of its
 * band — at once, or through the delayed zset when it is due later. It carries the attempts
 * consumed so far (`a`) and its original message id (`m`).
 * KEYS[1..2] the lease (SETTLE_PRELUDE)   KEYS[3] delayed   KEYS[4] delayed data
 * ARGV[1..5] the lease   ARGV[6] band   ARGV[7] attempts the next delivery counts from
 * ARGV[8] due (ms)   ARGV[9] now (ms)   ARGV[10] uid for the delayed entry   ARGV[11] message id
 */
const RESCHEDULE = `${SETTLE_PRELUDE}
local f = take()
if not f then return 0 end
-- An outside producer's entry may lack b or t: a nil would end the table early and the XADD
-- would fail after the entry was already taken, losing it.
local m = { 'b', f['b'] or '', 't', f['t'] or '0', 'm', ARGV[11] }
if ARGV[7] ~= '0' then m[#m + 1] = 'a'; m[#m + 1] = ARGV[7] end
if f['k'] then m[#m + 1] = 'k'; m[#m + 1] = f['k'] end
if tonumber(ARGV[8]) <= tonumber(ARGV[9]) then
  redis.call('XADD', KEYS[1], '*', unpack(m))
else
  table.insert(m, 1, ARGV[6])
  redis.call('HSET', KEYS[4], ARGV[10], cmsgpack.pack(m))
  redis.call('ZADD', KEYS[3], ARGV[8], ARGV[10])
end
return 1
`;

/**
 * Give up: the entry moves to the dead-letter stream with its reason, and the stream is trimmed
 * to the newest ARGV[9] entries and to those added since ARGV[11] (queue.dead_letter_max and
 * queue.dead_letter_retention_seconds; exact trims, cheap since they drop one entry or a few).
 * KEYS[1..2] the lease (SETTLE_PRELUDE)   KEYS[3] dead-letter stream
 * ARGV[1..5] the lease   ARGV[6] reason   ARGV[7] attempts   ARGV[8] now (ms)
 * ARGV[9] most dead letters kept   ARGV[10] message id   ARGV[11] retention cutoff (ms; older entries go)
 * For a message with a partition key (called as deadLetterKeyed): KEYS[4..18] the partition
 * KEYS (PROMOTE), ARGV[12] partition key.
 * Returns 0 if not held, else { 1, due time of the promoted next message of the key or '' }.
 */
const DEAD_LETTER = `${SETTLE_PRELUDE}${PROMOTE}
local f = take()
if f then
  local m = { 'm', ARGV[10], 'b', f['b'] or '', 'a', ARGV[7], 'r', ARGV[6], 'd', ARGV[8], 't', f['t'] or '0' }
  if f['k'] then m[#m + 1] = 'k'; m[#m + 1] = f['k'] end
  redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[9], '*', unpack(m))
  redis.call('XTRIM', KEYS[3], 'MINID', ARGV[11])
end
if #KEYS == 3 then return { 1, '' } end
return { 1, promote(4, ARGV[12], ARGV[10], ARGV[8]) }
`;

/**
 * Counts for stats(). Acknowledged entries are deleted, so a stream holds waiting plus pending
 * entries; a pending entry whose lease lapsed counts as waiting again. Messages waiting behind
 * the head of their partition key are waiting too (delayed if their own due time is ahead).
 * Dead letters past their retention are trimmed first, so they go even when nothing new is
 * dead-lettered (stats() runs on every metrics scrape).
 * KEYS[1..10] band streams   KEYS[11] leases   KEYS[12] delayed   KEYS[13] dead letters
 * KEYS[14] held   ARGV[1] group   ARGV[2] now (ms)   ARGV[3] dead-letter retention cutoff (ms)
 * Returns { depth, delayed (not yet due), in flight, dead-lettered, oldest ready at (ms, -1: none) }.
 * The oldest ready message is the earliest of: each band's first entry never delivered to the
 * group (its id's time is when it entered the stream: published, or promoted when due), the
 * earliest lapsed lease, and the earliest due entry of the delayed and held sets.
 */
const STATS = `
redis.call('XTRIM', KEYS[13], 'MINID', ARGV[3])
local stored, pending = 0, 0
local oldest = -1
local function seen(at)
  at = tonumber(at)
  if at ~= nil and (oldest < 0 or at < oldest) then oldest = at end
end
local function first_due(key)
  local due = redis.call('ZRANGEBYSCORE', key, '-inf', ARGV[2], 'WITHSCORES', 'LIMIT', 0, 1)
  if due[2] then seen(due[2]) end
end
for i = 1, 10 do
  stored = stored + redis.call('XLEN', KEYS[i])
  local p = redis.pcall('XPENDING', KEYS[i], ARGV[1])
  if type(p) == 'table' and not p.err then pending = pending + p[1] end
  local after = '-'
  local groups = redis.pcall('XINFO', 'GROUPS', KEYS[i])
  if type(groups) == 'table' and not groups.err then
    for _, g in ipairs(groups) do
      local name, last
      for j = 1, #g, 2 do
        if g[j] == 'name' then name = g[j + 1] elseif g[j] == 'last-delivered-id' then last = g[j + 1] end
      end
      if name == ARGV[1] and last ~= nil then after = '(' .. last end
    end
    local entry = redis.call('XRANGE', KEYS[i], after, '+', 'COUNT', 1)
    if entry[1] then seen(string.match(entry[1][1], '^(%d+)')) end
  end
end
local lapsed = redis.call('ZCOUNT', KEYS[11], '-inf', ARGV[2])
first_due(KEYS[11])
first_due(KEYS[12])
first_due(KEYS[14])
local waiting_delayed = redis.call('ZCARD', KEYS[12]) + redis.call('ZCARD', KEYS[14])
local not_due = redis.call('ZCOUNT', KEYS[12], '(' .. ARGV[2], '+inf') + redis.call('ZCOUNT', KEYS[14], '(' .. ARGV[2], '+inf')
return { stored - pending + lapsed + waiting_delayed, not_due, pending - lapsed, redis.call('XLEN', KEYS[13]), oldest }
`;

/**
 * Hands back what a consumer holds without knowing it: the deliveries of a claim whose reply
 * was lost (it timed out on a stalled server, or the connection dropped) but which ran. Each
 * goes back to the tail of its band without counting the lost delivery as an attempt, keeping
 * its message id (`m`), so a partition key's head stays its head.
 * KEYS[1..10] band streams   KEYS[11] leases
 * ARGV[1] group   ARGV[2] consumer
 * ARGV[3..] the deliveries it does hold, "<band>:<entry id>:<delivery count>": an entry held
 *           under another count is one of its own lapsed deliveries re-claimed, which it never received
 * Returns how many it handed back.
 */
const RELEASE_ORPHANS = `${PRELUDE}
local group, consumer = ARGV[1], ARGV[2]
local known = {}
for i = 3, #ARGV do known[ARGV[i]] = true end
local released = 0
for band = 0, 9 do
  local stream = KEYS[band + 1]
  local pending = redis.pcall('XPENDING', stream, group, '-', '+', 1000, consumer)
  if type(pending) == 'table' and not pending.err then
    for _, p in ipairs(pending) do
      local id, deliveries = p[1], p[4]
      local member = band .. ':' .. id
      if not known[member .. ':' .. deliveries] then
        local e = redis.call('XRANGE', stream, id, id)
        redis.call('XACK', stream, group, id)
        redis.call('XDEL', stream, id)
        redis.call('ZREM', KEYS[11], member)
        if e[1] then
          local f = fieldmap(e[1][2])
          local m = { 'b', f['b'] or '', 't', f['t'] or '0', 'm', f['m'] or id }
          local counted = (tonumber(f['a']) or 0) + deliveries - 1
          if counted > 0 then m[#m + 1] = 'a'; m[#m + 1] = tostring(counted) end
          if f['k'] then m[#m + 1] = 'k'; m[#m + 1] = f['k'] end
          redis.call('XADD', stream, '*', unpack(m))
          released = released + 1
        end
      end
    end
  end
end
return released
`;

/**
 * Forgets consumers that hold nothing: this one (ARGV[3], when it stops) and any idle for
 * ARGV[2] ms (processes that died; their entries were re-claimed by others already).
 * KEYS[1..10] band streams   ARGV[1] group   ARGV[2] idle threshold (ms)   ARGV[3] consumer or ''
 */
const FORGET_CONSUMERS = `${PRELUDE}
local removed = 0
for i = 1, 10 do
  local consumers = redis.pcall('XINFO', 'CONSUMERS', KEYS[i], ARGV[1])
  if type(consumers) == 'table' and not consumers.err then
    for _, c in ipairs(consumers) do
      local info = fieldmap(c)
      if info['pending'] == 0 and (info['name'] == ARGV[3] or info['idle'] >= tonumber(ARGV[2])) then
        redis.call('XGROUP', 'DELCONSUMER', KEYS[i], ARGV[1], info['name'])
        removed = removed + 1
      end
    end
  end
end
return removed
`;

/**
 * The bodies a fused pairing runs inside its own scripts (shared/redis/fused.ts, D187): each is
 * run there as a function of its own KEYS and ARGV, so it does exactly what it does here.
 */
export const QUEUE_LUA = { schedule: SCHEDULE, publishKeyed: PUBLISH_KEYED, ack: ACK, reschedule: RESCHEDULE, deadLetter: DEAD_LETTER } as const;

export interface QueueScripts {
  readonly claim: ScriptCall;
  readonly schedule: ScriptCall;
  readonly publishKeyed: ScriptCall;
  readonly ack: ScriptCall;
  /** The same script as `ack`, with the partition KEYS of the settled message's key. */
  readonly ackKeyed: ScriptCall;
  readonly extend: ScriptCall;
  readonly reschedule: ScriptCall;
  readonly deadLetter: ScriptCall;
  /** The same script as `deadLetter`, with the partition KEYS of the settled message's key. */
  readonly deadLetterKeyed: ScriptCall;
  readonly stats: ScriptCall;
  readonly releaseOrphans: ScriptCall;
  readonly forgetConsumers: ScriptCall;
}

export function queueScripts(client: RedisClient): QueueScripts {
  return {
    claim: defineScript(client, 'hqmQueueClaim', 13, CLAIM),
    schedule: defineScript(client, 'hqmQueueSchedule', 2, SCHEDULE),
    publishKeyed: defineScript(client, 'hqmQueuePublishKeyed', 6, PUBLISH_KEYED),
    ack: defineScript(client, 'hqmQueueAck', 2, ACK),
    ackKeyed: defineScript(client, 'hqmQueueAckKeyed', 2 + PARTITION_KEYS, ACK),
    extend: defineScript(client, 'hqmQueueExtend', 2, EXTEND),
    reschedule: defineScript(client, 'hqmQueueReschedule', 4, RESCHEDULE),
    deadLetter: defineScript(client, 'hqmQueueDeadLetter', 3, DEAD_LETTER),
    deadLetterKeyed: defineScript(client, 'hqmQueueDeadLetterKeyed', 3 + PARTITION_KEYS, DEAD_LETTER),
    stats: defineScript(client, 'hqmQueueStats', 14, STATS),
    releaseOrphans: defineScript(client, 'hqmQueueReleaseOrphans', BANDS + 1, RELEASE_ORPHANS),
    forgetConsumers: defineScript(client, 'hqmQueueForgetConsumers', 10, FORGET_CONSUMERS),
  };
}

/**
 * Browsing, removing, purging and replaying the dead letters of a Redis queue. They are the
 * entries of the queue's dead-letter stream (`<prefix>:q:{<queue>}:dead`, see keys.ts); a dead
 * letter's id is its stream entry id, which grows with time, so "older than" is "a smaller id"
 * and a purge by time is one XTRIM MINID. Everything stays in the queue's slot, so a replay —
 * remove the dead letter and publish its replacement — is one script on one node (D96).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { HqmError } from '../../../core/errors.js';
import type { DeadLetter, DeadLetterPage, OutboundMessage } from '../../../ports/queue-backend.js';
import { deadLetterCutoff, type DeadLetterBounds } from '../../shared/dead-letters.js';
import { assertSize, clampPriority } from '../../shared/messages.js';
import { defineScript, type RedisClient, type ScriptCall } from '../../shared/redis/client.js';
import { guarded } from '../../shared/redis/errors.js';
import { fieldMap } from './consumer.js';
import type { QueueKeys } from './keys.js';

/** A stream entry id, as Redis writes them. */
const ENTRY_ID = /^\d{1,20}-\d{1,20}$/;

/**
 * Replay: the dead letter leaves its stream and its replacement is published as the producer
 * would publish it (producer.ts and scripts.ts SCHEDULE / PUBLISH_KEYED), in one script.
 * KEYS[1] dead-letter stream   KEYS[2] the band's stream   KEYS[3] delayed   KEYS[4] delayed data
 * KEYS[5] heads   KEYS[6] the partition key's list   KEYS[7] held
 * ARGV[1] dead-letter entry id   ARGV[2] 'now' | 'later' | 'keyed'   ARGV[3] partition key or ''
 * ARGV[4] message id for 'later' and 'keyed' ('' for 'now')   ARGV[5] due (ms)   ARGV[6] now (ms)
 * ARGV[7] band   ARGV[8] uid of the delayed entry   ARGV[9..] stream fields (field, value, …)
 * Returns nil when the dead letter is not there (nothing published), else { message id, due or '' }.
 */
const REPLAY = `
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return false end
local mode = ARGV[2]
if mode == 'keyed' then
  if redis.call('HSETNX', KEYS[5], ARGV[3], ARGV[4]) == 0 then
    redis.call('RPUSH', KEYS[6], cmsgpack.pack({ ARGV[4], ARGV[5], ARGV[7], unpack(ARGV, 9) }))
    redis.call('ZADD', KEYS[7], ARGV[5], ARGV[4])
    return { ARGV[4], '' }
  end
  if tonumber(ARGV[5]) > tonumber(ARGV[6]) then mode = 'later' else mode = 'now' end
end
if mode == 'later' then
  redis.call('HSET', KEYS[4], ARGV[8], cmsgpack.pack({ ARGV[7], unpack(ARGV, 9) }))
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[8])
  return { ARGV[4], ARGV[5] }
end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 9))
if ARGV[4] ~= '' then id = ARGV[4] end
return { id, ARGV[5] }
`;

export interface ReplayedMessage {
  readonly messageId: string;
  /** When it becomes visible (epoch ms); undefined while it waits behind its key's head. */
  readonly visibleAt: number | undefined;
}

export class RedisDeadLetters {
  readonly #replay: ScriptCall;

  constructor(
    private readonly client: RedisClient,
    private readonly bounds: DeadLetterBounds,
    private readonly maxMessageBytes: number,
  ) {
    this.#replay = defineScript(client, 'hqmQueueReplayDeadLetter', 7, REPLAY);
  }

  async browse(keys: QueueKeys, options: { limit: number; before?: string }): Promise<DeadLetterPage> {
    if (options.before !== undefined && !ENTRY_ID.test(options.before)) throw new HqmError('HQM_ERR_VALIDATION', `"${options.before}" is not a dead-letter id of the Redis queue`);
    const start = options.before === undefined ? '+' : `(${options.before}`;
    const entries = await guarded('reading dead letters', this.client.xrevrange(keys.dead, start, '-', 'COUNT', options.limit + 1));
    const cutoff = deadLetterCutoff(Date.now(), this.bounds);
    // Newest first: past the first one beyond its retention, all are (the next trim drops them).
    const all = entries.map(([id, flat]) => letterOf(id, flat));
    const expired = all.findIndex((letter) => letter.deadLetteredAt < cutoff);
    const kept = expired === -1 ? all : all.slice(0, expired);
    const letters = kept.slice(0, options.limit);
    return { letters, next: kept.length > options.limit ? (letters.at(-1)?.id ?? null) : null };
  }

  async get(keys: QueueKeys, id: string): Promise<DeadLetter | undefined> {
    if (!ENTRY_ID.test(id)) return undefined;
    const [entry] = await guarded('reading a dead letter', this.client.xrange(keys.dead, id, id));
    if (entry === undefined) return undefined;
    const letter = letterOf(entry[0], entry[1]);
    return letter.deadLetteredAt < deadLetterCutoff(Date.now(), this.bounds) ? undefined : letter;
  }

  async remove(keys: QueueKeys, id: string): Promise<boolean> {
    if (!ENTRY_ID.test(id)) return false;
    return (await guarded('removing a dead letter', this.client.xdel(keys.dead, id))) > 0;
  }

  /** By entry id, whose time part is when Redis added the dead letter. */
  async purge(keys: QueueKeys, before: number): Promise<number> {
    return guarded('purging dead letters', this.client.xtrim(keys.dead, 'MINID', Math.max(0, Math.floor(before))));
  }

  async replay(keys: QueueKeys, id: string, message: OutboundMessage): Promise<ReplayedMessage | undefined> {
    assertSize(message.body, this.maxMessageBytes);
    if (!ENTRY_ID.test(id)) return undefined;
    const band = clampPriority(message.priority);
    const now = Date.now();
    const due = now + Math.max(0, message.delayMs ?? 0);
    const key = message.partitionKey ?? null;
    const uid = randomBytes(9).toString('base64url');
    // The same fields and ids as the producer gives a message published the same way.
    const mode = key !== null ? 'keyed' : due > now ? 'later' : 'now';
    const messageId = mode === 'keyed' ? `p-${uid}` : mode === 'later' ? `d-${uid}` : '';
    const fields = ['b', message.body, 't', String(now), ...(key === null ? [] : ['k', key]), ...(messageId === '' ? [] : ['m', messageId])];
    const scriptKeys = [keys.dead, keys.streams[band] as string, keys.delayed, keys.delayedData, keys.heads, keys.partition(key ?? ''), keys.held];
    const reply = await guarded('replaying a dead letter', this.#replay(scriptKeys, [id, mode, key ?? '', messageId, due, now, band, uid, ...fields]));
    if (!Array.isArray(reply)) return undefined;
    const [published, visible] = reply as [string, string];
    return { messageId: published, visibleAt: visible === '' ? undefined : Number(visible) };
  }
}

function letterOf(id: string, flat: readonly string[]): DeadLetter {
  const f = fieldMap(flat);
  return { id, messageId: f.m ?? id, body: f.b ?? '', attempts: Number(f.a ?? 0), reason: f.r ?? '', deadLetteredAt: Number(f.d ?? 0) };
}

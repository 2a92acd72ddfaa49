/**
 * The Redis store's list indexes (ResultStore.list): sorted sets of position keys
 * (core/request/list.ts), all with score 0 so Redis orders them by the key's bytes — newest
 * first is ZREVRANGEBYLEX, a cursor is an exclusive lex bound, `since`/`until` are lex bounds.
 * One set per index named by adapters/shared/list-index.ts, so every query is one range read.
 *
 *   <prefix>:{<prefix>:ix}:l:<index>   sorted set of position keys (score 0)
 *   <prefix>:{<prefix>:ix}:m           hash: id → {k position key, u updatedAt, x expiresAt,
 *                                      i [the indexes it is in]}: what to undo when it moves or goes
 *   <prefix>:{<prefix>:ix}:x           sorted set: id scored by expiresAt, to prune the expired
 *
 * Every index key shares one hash tag, so the index scripts are atomic on a Redis Cluster too;
 * a record lives in its own slot (`{<id>}`), so the index is written beside the record, not in
 * the same atomic step (D90): created in the same turn as the record, moved after a transition
 * applies. Readers check every entry against the record (gone, or in another status → skipped
 * and repaired), and the pruner drops the entries of records that expired, or repairs an entry
 * whose record outlived what the index knew. So a lost index write costs at most a stale
 * entry until the record's old expiry, never a wrong answer.
 *
 * @module
 */
import { matchesListQuery, positionFromKey, positionKey, timeKey, type ListPage, type ListPosition, type ListQuery } from '../../../core/request/list.js';
import type { RequestRecord } from '../../../core/request/record.js';
import type { Logger } from '../../../ports/logger.js';
import { defineScript, type RedisClient, type ScriptCall } from '../../shared/redis/client.js';
import { guarded } from '../../shared/redis/errors.js';
import { fixedIndexes, indexFor, statusIndexes, upperBound } from '../../shared/list-index.js';

/**
 * Puts a record in its indexes, out of those it was in.
 * KEYS[1] meta hash   KEYS[2] expiry set
 * ARGV[1] prefix of the index sets   ARGV[2] id   ARGV[3] 'create' | 'update'   ARGV[4] position key
 * ARGV[5] updatedAt   ARGV[6] expiresAt   ARGV[7] now   ARGV[8..] the indexes it belongs in
 * 'create' leaves a live entry of the same id alone (a duplicate id, refused by the record);
 * 'update' leaves an entry written by a later change alone (two moves whose index writes crossed).
 * Returns 1 when written, 0 when left alone.
 */
const INDEX = `
local held = redis.call('HGET', KEYS[1], ARGV[2])
local old = held and cjson.decode(held)
if old then
  if ARGV[3] == 'create' and tonumber(old.x) > tonumber(ARGV[7]) then return 0 end
  if ARGV[3] == 'update' and tonumber(old.u) > tonumber(ARGV[5]) then return 0 end
end
local names = {}
local wanted = {}
for i = 8, #ARGV do names[#names + 1] = ARGV[i]; wanted[ARGV[i]] = true end
if old then
  for _, name in ipairs(old.i) do
    if old.k ~= ARGV[4] or not wanted[name] then redis.call('ZREM', ARGV[1] .. name, old.k) end
  end
end
for _, name in ipairs(names) do redis.call('ZADD', ARGV[1] .. name, 0, ARGV[4]) end
redis.call('HSET', KEYS[1], ARGV[2], cjson.encode({ k = ARGV[4], u = tonumber(ARGV[5]), x = tonumber(ARGV[6]), i = names }))
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[2])
return 1
`;

/** INDEX's body, which a fused submit runs inside its own script (shared/redis/fused.ts). */
export const INDEX_LUA = INDEX;

/**
 * Takes a record out of every index.
 * KEYS[1] meta hash   KEYS[2] expiry set   ARGV[1] prefix of the index sets   ARGV[2] id
 * ARGV[3] the position key the caller saw gone, or '' for whatever is there (a record deleted
 * under an entry since re-created with the same id keeps its new entry).
 */
const UNINDEX = `
local held = redis.call('HGET', KEYS[1], ARGV[2])
if not held then redis.call('ZREM', KEYS[2], ARGV[2]); return 0 end
local old = cjson.decode(held)
if ARGV[3] ~= '' and old.k ~= ARGV[3] then return 0 end
for _, name in ipairs(old.i) do redis.call('ZREM', ARGV[1] .. name, old.k) end
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
`;

/** Entries looked at per read of an index; a page reads more only when entries were skipped. */
const CHUNK_MIN = 64;
/** Skipped entries one page may walk past before it answers short, with a cursor to go on from. */
const SKIP_BUDGET = 2_000;
/** Expired entries one prune looks at per round; it runs rounds until one comes back short. */
const PRUNE_BATCH = 200;
const PRUNE_ROUNDS = 50;

export class RedisListIndex {
  readonly #index: ScriptCall;
  readonly #unindex: ScriptCall;
  readonly #base: string;
  readonly #keys: [meta: string, expiry: string];

  constructor(
    private readonly client: RedisClient,
    prefix: string,
    private readonly fetch: (id: string) => Promise<RequestRecord | undefined>,
    private readonly logger: Logger,
  ) {
    this.#index = defineScript(client, 'hqmListIndex', 2, INDEX);
    this.#unindex = defineScript(client, 'hqmListUnindex', 2, UNINDEX);
    const tagged = `${prefix}:{${prefix}:ix}`;
    this.#base = `${tagged}:l:`;
    this.#keys = [`${tagged}:m`, `${tagged}:x`];
  }

  /** Indexes a record as it is now; 'create' for a new one (see INDEX). */
  async put(record: RequestRecord, mode: 'create' | 'update'): Promise<void> {
    const { keys, args } = this.putCall(record, mode);
    await guarded('indexing a request', this.#index(keys, args));
  }

  /** Runs INDEX with these KEYS and ARGV (a `putCall`'s). */
  index(keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    return this.#index(keys, args);
  }

  /** The KEYS and ARGV of INDEX for `put` (a fused submit runs INDEX inside its own script). */
  putCall(record: RequestRecord, mode: 'create' | 'update'): { keys: readonly string[]; args: ReadonlyArray<string | number> } {
    const names = [...fixedIndexes(record), ...statusIndexes(record, record.status)];
    return { keys: this.#keys, args: [this.#base, record.id, mode, positionKey(record), record.updatedAt, record.expiresAt, Date.now(), ...names] };
  }

  /** Moves a record after a transition; a failure is logged, not thrown: the transition stands and readers repair. */
  async moved(record: RequestRecord): Promise<void> {
    await this.put(record, 'update').catch((error: unknown) => this.logger.warn({ err: error, id: record.id }, 'redis store: updating the list index failed; readers repair the entry'));
  }

  async remove(id: string, seenKey = ''): Promise<void> {
    await guarded('unindexing a request', this.#unindex(this.#keys, [this.#base, id, seenKey]));
  }

  async page(query: ListQuery): Promise<ListPage<RequestRecord>> {
    const key = this.#base + indexFor(query);
    const upper = upperBound(query);
    let max = upper === undefined ? '+' : `(${upper}`;
    const min = query.since === undefined ? '-' : `[${timeKey(query.since)}`;
    const records: RequestRecord[] = [];
    let skipped = 0;
    let last: ListPosition | undefined;
    for (;;) {
      const want = Math.max(CHUNK_MIN, query.limit - records.length + 1);
      const members = await guarded('listing requests', this.client.zrevrangebylex(key, max, min, 'LIMIT', 0, want));
      const found = await Promise.all(members.map((member) => this.fetch(positionFromKey(member).id)));
      for (let i = 0; i < members.length; i += 1) {
        const member = members[i] as string;
        const record = found[i];
        if (records.length === query.limit) return { records, next: last ?? null };
        if (record !== undefined && positionKey(record) === member && matchesListQuery(query, record)) {
          records.push(record);
          last = { submittedAt: record.submittedAt, id: record.id };
          continue;
        }
        this.#repair(key, member, record);
        last = positionFromKey(member);
        skipped += 1;
        // Answer short rather than walk on without bound; the cursor goes on from here.
        if (skipped >= SKIP_BUDGET) return { records, next: last };
      }
      if (members.length < want) return { records, next: null };
      max = `(${members[members.length - 1] as string}`;
    }
  }

  /**
   * Drops the entries of records that expired, and re-indexes any whose record lives on (an
   * index write lost after its TTL restarted). Runs rounds until one finds fewer than a batch
   * due, so it keeps pace with any rate of expiry. Resolves with how many entries it dropped.
   */
  async prune(now = Date.now()): Promise<number> {
    let dropped = 0;
    for (let round = 0; round < PRUNE_ROUNDS; round += 1) {
      const due = await guarded('pruning the list index', this.client.zrangebyscore(this.#keys[1], '-inf', now, 'LIMIT', 0, PRUNE_BATCH));
      const records = await Promise.all(due.map((id) => this.fetch(id)));
      await Promise.all(
        due.map((id, i) => {
          const record = records[i];
          if (record !== undefined) return this.put(record, 'update');
          dropped += 1;
          return this.remove(id);
        }),
      );
      if (due.length < PRUNE_BATCH) break;
    }
    return dropped;
  }

  /** Mends an entry a reader found wrong, in the background: the page does not wait for it. */
  #repair(key: string, member: string, record: RequestRecord | undefined): void {
    const { id } = positionFromKey(member);
    // The entry names a record that is gone, or an earlier one of the same id: it is dead here
    // (and in every index, when the meta still names it). Otherwise the record moved on since
    // (an index write lost): index it as it is now.
    const dead = record === undefined || positionKey(record) !== member;
    const done = dead ? Promise.all([this.remove(id, member), this.client.zrem(key, member)]) : this.put(record, 'update');
    done.catch((error: unknown) => this.logger.warn({ err: error, id }, 'redis store: repairing a list index entry failed; the next reader tries again'));
  }
}

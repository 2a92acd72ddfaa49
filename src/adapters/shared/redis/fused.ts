/**
 * The fused pair of the Redis queue and store on one connection to one Redis server (D187): a
 * submit is one script call (the record, its list-index entry and the message), a finish is one
 * (the compare-and-set and the delivery's settle, the settle for "applied" or for "not applied"
 * chosen inside the script). Each script runs the adapters' own script bodies as Lua functions,
 * each with its own KEYS and ARGV, so it does exactly what the two-port path does, in one atomic
 * step; the calls of one event-loop turn already leave in one write (client.ts, D20).
 *
 * Not on a Redis Cluster: a record's keys (`{<id>}`), a queue's (`{<queue>}`) and the list index
 * (`{<prefix>:ix}`) hash to different slots, and one script may touch one slot only. A cluster
 * keeps the two-port path.
 *
 * @module
 */
import { HqmError } from '../../../core/errors.js';
import type { FusedBackend, FusedFinish, FusedSubmission, FusedSubmitted } from '../../../ports/fused.js';
import type { Delivery } from '../../../ports/queue-backend.js';
import type { TransitionResult } from '../../../ports/result-store.js';
import { fusionParts } from '../fusion.js';
import { defineVariadicScript, type ScriptCall } from './client.js';
import { guarded } from './errors.js';
import type { RedisDeliveryFusion, RedisQueueFusion, RedisStoreFusion } from './fusion.js';

/** The pair, when `queue` and `store` are the Redis adapters on one connection (not a cluster). */
export function fuse(queue: unknown, store: unknown): FusedBackend | undefined {
  const q = fusionParts<RedisQueueFusion>(queue, 'redis', 'queue');
  const s = fusionParts<RedisStoreFusion>(store, 'redis', 'store');
  if (q === undefined || s === undefined || q.handle !== s.handle || q.handle.options.cluster) return undefined;
  return new RedisFused(q, s);
}

/** A script body as a Lua function of its own KEYS and ARGV. */
const fn = (name: string, body: string): string => `local function ${name}(KEYS, ARGV)\n${body}\nend\n`;

const SLICE = `
local function slice(t, from, n)
  local s = {}
  for i = 1, n do s[i] = t[from + i - 1] end
  return s
end
`;

/**
 * The record (unless its id is taken: then nothing at all), its list-index entry, and the message.
 * ARGV[1] #KEYS of create   ARGV[2] #ARGV of create   ARGV[3] #KEYS of index   ARGV[4] #ARGV of index
 * ARGV[5] the publish: 'xadd' | 'schedule' | 'publishKeyed'   ARGV[6] #KEYS of the publish
 * then the ARGV of create, of index and of the publish (the rest); KEYS likewise in that order.
 * Returns {0} when the id is taken, else {1, the publish's reply}.
 */
function submitLua(q: RedisQueueFusion, s: RedisStoreFusion): string {
  return `${fn('create', s.lua.create)}${fn('index', s.lua.index)}${fn('schedule', q.lua.schedule)}${fn('publishKeyed', q.lua.publishKeyed)}${SLICE}
local ck, ca, ik, ia, pk = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6])
local a = 7
if create(slice(KEYS, 1, ck), slice(ARGV, a, ca)) ~= 1 then return { 0 } end
a = a + ca
index(slice(KEYS, ck + 1, ik), slice(ARGV, a, ia))
a = a + ia
local keys, args = slice(KEYS, ck + ik + 1, pk), slice(ARGV, a, #ARGV - a + 1)
local published
if ARGV[5] == 'xadd' then published = redis.call('XADD', keys[1], '*', unpack(args))
elseif ARGV[5] == 'schedule' then published = schedule(keys, args)
else published = publishKeyed(keys, args) end
return { 1, published }
`;
}

/**
 * The compare-and-set, then the settle for its outcome.
 * ARGV[1] #KEYS of the transition   ARGV[2] #ARGV of it
 * ARGV[3] the settle when it applied: 'ack' | 'reschedule' | 'deadLetter'   ARGV[4] #KEYS   ARGV[5] #ARGV
 * ARGV[6..8] the same for the settle when it did not
 * then the ARGV of the transition and of the two settles; KEYS likewise in that order.
 * Returns {the transition's reply, the settle's reply}.
 */
function finishLua(q: RedisQueueFusion, s: RedisStoreFusion): string {
  return `${fn('transition', s.lua.transition)}${fn('ack', q.lua.ack)}${fn('reschedule', q.lua.reschedule)}${fn('deadLetter', q.lua.deadLetter)}${SLICE}
local settles = { ack = ack, reschedule = reschedule, deadLetter = deadLetter }
local tk, ta, ak, aa, ok, oa = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[7]), tonumber(ARGV[8])
local r = transition(slice(KEYS, 1, tk), slice(ARGV, 9, ta))
local settled
if r[1] == 2 then settled = settles[ARGV[3]](slice(KEYS, tk + 1, ak), slice(ARGV, 9 + ta, aa))
else settled = settles[ARGV[6]](slice(KEYS, tk + ak + 1, ok), slice(ARGV, 9 + ta + aa, oa)) end
return { r, settled }
`;
}

class RedisFused implements FusedBackend {
  readonly type = 'redis+redis';
  readonly #submit: ScriptCall;
  readonly #finish: ScriptCall;

  constructor(
    private readonly queue: RedisQueueFusion,
    private readonly store: RedisStoreFusion,
  ) {
    const client = queue.handle.client;
    this.#submit = defineVariadicScript(client, 'hqmFusedSubmit', submitLua(queue, store));
    this.#finish = defineVariadicScript(client, 'hqmFusedFinish', finishLua(queue, store));
  }

  async submit(submission: FusedSubmission): Promise<FusedSubmitted> {
    this.queue.assertOpen();
    this.store.assertOpen();
    // Planned first: a body over the limit is refused before anything is sent.
    const publish = this.queue.publish(submission.queue, submission.message);
    const { record, create, index, created } = this.store.creation(submission.request);
    const keys = [...create.keys, ...index.keys, ...publish.keys];
    const args = [create.keys.length, create.args.length, index.keys.length, index.args.length, publish.command, publish.keys.length, ...create.args, ...index.args, ...publish.args];
    const [stored, reply] = (await guarded('submitting a request', this.#submit(keys, args))) as [number, unknown?];
    if (stored !== 1) throw new HqmError('HQM_ERR_DUPLICATE_ID', `a request with id ${record.id} already exists`, { details: { id: record.id } });
    created();
    return { record, messageId: publish.published(reply).messageId };
  }

  owns(delivery: Delivery): boolean {
    return this.#parts(delivery) !== undefined;
  }

  async finish(delivery: Delivery, finish: FusedFinish): Promise<TransitionResult> {
    const parts = this.#parts(delivery);
    if (parts === undefined) throw new Error("finish: the delivery is not from this pair's queue");
    this.store.assertOpen();
    const transition = this.store.transition(finish.transition);
    const applied = parts.settlement(finish.applied);
    const otherwise = parts.settlement(finish.otherwise);
    const keys = [...transition.keys, ...applied.keys, ...otherwise.keys];
    const counts = [transition.keys.length, transition.args.length, applied.script, applied.keys.length, applied.args.length, otherwise.script, otherwise.keys.length, otherwise.args.length];
    applied.sent();
    const [moved, settled] = (await guarded('finishing a request', this.#finish(keys, [...counts, ...transition.args, ...applied.args, ...otherwise.args]))) as [unknown, unknown];
    const result = transition.result(moved);
    (result.ok ? applied : otherwise).reply(settled);
    return result;
  }

  #parts(delivery: Delivery): RedisDeliveryFusion | undefined {
    const parts = fusionParts<RedisDeliveryFusion>(delivery, 'redis', 'delivery');
    return parts?.queue === this.queue ? parts : undefined;
  }
}

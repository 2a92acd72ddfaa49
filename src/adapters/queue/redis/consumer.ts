/**
 * The Redis side of the pull loop (adapters/shared/pull-consumer.ts drives it):
 *
 * - `claim(n)` runs one Lua script that promotes due delayed messages, re-claims deliveries
 *   whose visibility lapsed, and reads new entries highest band first (see scripts.ts).
 * - When a claim comes back short, the queue is drained; the source then parks one blocking
 *   `XREAD` on a dedicated connection, from the ids the claim saw last, so a message published
 *   by any process wakes this consumer at once. Delayed messages and lapsed leases wake it
 *   through `nextDueAt` (and the loop looks again at least once a second).
 * - A claim that fails may still have run (a command that timed out on a stalled server runs
 *   when it catches up): before its next claim the source hands back whatever its consumer
 *   holds that it never received, uncounted, so a stall costs no attempts (`releaseOrphans`).
 * - Each delivery settles through a lease-checked script, so a settle from a lapsed delivery
 *   changes nothing. Acknowledging or dead-lettering a message with a partition key also
 *   promotes the next message of its key, in the same script (D26); this process's
 *   subscriptions hear of it at once, others through their blocking XREAD.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../../ports/logger.js';
import type { Settlement } from '../../../ports/fused.js';
import type { Delivery } from '../../../ports/queue-backend.js';
import { deadLetterCutoff, type DeadLetterBounds } from '../../shared/dead-letters.js';
import { FUSION } from '../../shared/fusion.js';
import type { PullConsumer, PullSource } from '../../shared/pull-consumer.js';
import type { RedisClient, RedisHandle } from '../../shared/redis/client.js';
import { guarded } from '../../shared/redis/errors.js';
import type { RedisDeliveryFusion, RedisQueueFusion } from '../../shared/redis/fusion.js';
import { BANDS, type QueueKeys } from './keys.js';
import type { QueueScripts } from './scripts.js';

/** Most delayed messages one claim moves to their streams. */
const PROMOTE_PER_CLAIM = 200;
/** How long a claim waits for a reconnecting connection before reporting "nothing yet". */
const READY_WAIT_MS = 1000;
/** A blocking XREAD returns empty after this long; the loop then parks a new one. */
const BLOCK_MS = 10_000;
/** Earliest re-check after a due time already in the past (it is being handled or is stale). */
const MIN_RECHECK_MS = 10;
/** Consumers holding nothing and idle this long are removed from the group (dead processes). */
const FORGET_IDLE_MS = 10 * 60_000;
const FORGET_EVERY_MS = 5 * 60_000;

export interface ConsumerContext {
  readonly handle: RedisHandle;
  readonly scripts: QueueScripts;
  readonly keys: QueueKeys;
  readonly group: string;
  /** This subscription's consumer name in the group. */
  readonly consumer: string;
  readonly visibilityTimeoutMs: number;
  /** How many dead letters the queue keeps, and for how long. */
  readonly deadLetters: DeadLetterBounds;
  readonly logger: Logger;
  /** Tells this process's subscriptions of the queue that a message becomes visible at `at`. */
  readonly notify: (at: number) => void;
  /** The queue's fusion parts, which its deliveries name as their owner. */
  readonly fusion: RedisQueueFusion;
}

interface Claimed {
  readonly band: number;
  readonly id: string;
  readonly deliveries: number;
  readonly fields: Readonly<Record<string, string>>;
}

export class RedisSource implements PullSource {
  #consumer: PullConsumer | undefined;
  #nextDue: number | undefined;
  #watching = false;
  #stopped = false;
  #blocking: Promise<RedisClient> | undefined;
  /**
   * The deliveries handed out and not yet settled: lease member ("<band>:<entry id>") → its
   * delivery count. The count tells a delivery still running from an older one of the same
   * entry that lapsed and was re-claimed by this same consumer.
   */
  readonly #held = new Map<string, number>();
  /** A claim failed: its deliveries may exist in Redis without this process knowing them. */
  #mayHoldOrphans = false;
  readonly #forgetTimer: NodeJS.Timeout;

  constructor(private readonly ctx: ConsumerContext) {
    this.#forgetTimer = setInterval(() => void this.#forgetIdleConsumers(''), FORGET_EVERY_MS);
    this.#forgetTimer.unref();
  }

  attach(consumer: PullConsumer): void {
    this.#consumer = consumer;
  }

  async claim(limit: number): Promise<Delivery[]> {
    const { ctx } = this;
    const ready = await ctx.handle.ready(READY_WAIT_MS).then(
      () => true,
      () => false,
    );
    if (!ready) {
      // Redis is away (the outage is logged once by the connection): look again shortly.
      this.#nextDue = Date.now() + READY_WAIT_MS;
      return [];
    }
    let reply: unknown;
    try {
      // Sent after the failed claim on the same connection, so it runs after it, if it ran at all.
      if (this.#mayHoldOrphans) await this.#releaseOrphans();
      const now = Date.now();
      const args = [ctx.group, ctx.consumer, limit, now, now + ctx.visibilityTimeoutMs, PROMOTE_PER_CLAIM, this.#watching ? '0' : '1'];
      reply = await guarded('claiming messages', ctx.scripts.claim(ctx.keys.claim, args));
    } catch (error) {
      this.#nextDue = undefined;
      this.#mayHoldOrphans = true;
      throw error;
    }
    const { nextDue, lastIds, entries } = parseClaim(reply);
    this.#nextDue = nextDue;
    if (entries.length < limit && lastIds.length === BANDS) this.#watch(lastIds);
    return entries.map((entry) => this.#delivery(entry));
  }

  nextDueAt(): number | undefined {
    return this.#nextDue === undefined ? undefined : Math.max(this.#nextDue, Date.now() + MIN_RECHECK_MS);
  }

  /** Ends the blocking read, hands back unreceived deliveries, and forgets this consumer if it holds nothing. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#forgetTimer);
    const blocking = this.#blocking;
    this.#blocking = undefined;
    if (blocking !== undefined) (await blocking.catch(() => undefined))?.disconnect();
    if (this.#mayHoldOrphans) {
      await this.#releaseOrphans().catch((error: unknown) => {
        this.ctx.logger.warn({ err: error }, 'redis queue: could not hand back the deliveries of a lost claim while stopping; they return when their leases lapse');
      });
    }
    await this.#forgetIdleConsumers(this.ctx.consumer);
  }

  /** Parks an XREAD that returns when any band gets an entry after the ids the last claim saw. */
  #watch(lastIds: readonly string[]): void {
    if (this.#watching || this.#stopped) return;
    this.#watching = true;
    void this.#blockUntilPublished(lastIds).finally(() => {
      this.#watching = false;
    });
  }

  async #blockUntilPublished(lastIds: readonly string[]): Promise<void> {
    let connection: RedisClient;
    try {
      this.#blocking ??= this.ctx.handle.dedicated('blocking', this.ctx.logger);
      connection = await this.#blocking;
    } catch (error) {
      this.#blocking = undefined; // Could not connect: the next short claim tries again.
      this.ctx.logger.debug({ err: error }, 'redis queue: no connection for the blocking wait');
      return;
    }
    if (this.#stopped) return;
    try {
      const reply = await connection.xread('COUNT', 1, 'BLOCK', BLOCK_MS, 'STREAMS', ...this.ctx.keys.streams, ...lastIds);
      if (reply !== null && !this.#stopped) this.#consumer?.wake();
    } catch (error) {
      // Redis went away, or stop() closed the connection; the periodic re-check covers both.
      if (!this.#stopped) this.ctx.logger.debug({ err: error }, 'redis queue: blocking wait for new messages failed');
    }
  }

  async #releaseOrphans(): Promise<void> {
    const { ctx } = this;
    const held = [...this.#held].map(([member, deliveries]) => `${member}:${deliveries}`);
    const released = await guarded('handing back unreceived deliveries', ctx.scripts.releaseOrphans([...ctx.keys.streams, ctx.keys.leases], [ctx.group, ctx.consumer, ...held]));
    this.#mayHoldOrphans = false;
    if (typeof released === 'number' && released > 0) ctx.logger.info({ released }, 'redis queue: handed back deliveries of a claim whose reply was lost');
  }

  async #forgetIdleConsumers(self: string): Promise<void> {
    const { ctx } = this;
    try {
      await guarded('forgetting idle consumers', ctx.scripts.forgetConsumers(ctx.keys.streams, [ctx.group, FORGET_IDLE_MS, self]));
    } catch (error) {
      ctx.logger.debug({ err: error }, 'redis queue: could not forget idle consumers');
    }
  }

  #delivery(entry: Claimed): Delivery {
    const { ctx } = this;
    const { band, id, deliveries, fields } = entry;
    const attempt = Number(fields.a ?? 0) + deliveries;
    const messageId = fields.m ?? id;
    const partitionKey = fields.k ?? null;
    const leaseKeys = [ctx.keys.streams[band] as string, ctx.keys.leases];
    const member = `${band}:${id}`;
    const lease = [ctx.group, id, ctx.consumer, deliveries, member];
    this.#held.set(member, deliveries);
    // Forgotten when a settle is sent, not when it is answered: a later orphan hand-back runs after
    // it. Only by this delivery: a lapsed older one settling (a no-op in Redis) keeps the newer one.
    const sent = (): void => {
      if (this.#held.get(member) === deliveries) this.#held.delete(member);
    };
    // Ending the head of a key promotes the next message of the key: wake this process's consumers for it.
    const promoted = (reply: unknown): void => {
      const promotedDue: unknown = Array.isArray(reply) ? reply[1] : undefined;
      if (typeof promotedDue === 'string' && promotedDue !== '') ctx.notify(Number(promotedDue));
    };
    const partitionKeys = partitionKey === null ? [] : [ctx.keys.heads, ctx.keys.partition(partitionKey), ctx.keys.held, ctx.keys.delayed, ctx.keys.delayedData, ...ctx.keys.streams];
    const reschedule = (countedSoFar: number, delayMs: number): SettleStep => {
      const now = Date.now();
      const due = now + Math.max(0, delayMs);
      const uid = randomBytes(9).toString('base64url');
      return {
        script: 'reschedule',
        what: 'rescheduling a message',
        keys: [...leaseKeys, ctx.keys.delayed, ctx.keys.delayedData],
        args: [...lease, band, countedSoFar, due, now, uid, messageId],
        sent,
        reply: (moved) => {
          if (moved === 1) ctx.notify(due);
        },
      };
    };
    // Each settlement as a call: sent alone here, or inside a fused finish's script (D187).
    const step = (settle: Settlement): SettleStep => {
      switch (settle.kind) {
        case 'ack':
          return partitionKey === null
            ? { script: 'ack', what: 'acknowledging a message', keys: leaseKeys, args: lease, sent, reply: promoted }
            : { script: 'ack', what: 'acknowledging a message', keys: [...leaseKeys, ...partitionKeys], args: [...lease, partitionKey, messageId, Date.now()], sent, reply: promoted };
        case 'retry':
          return reschedule(attempt, settle.delayMs);
        case 'release':
          return reschedule(attempt - 1, settle.delayMs);
        case 'deadLetter': {
          const now = Date.now();
          const bounds = [ctx.deadLetters.max, messageId, deadLetterCutoff(now, ctx.deadLetters)];
          const args = [...lease, settle.reason, attempt, now, ...bounds, ...(partitionKey === null ? [] : [partitionKey])];
          return { script: 'deadLetter', what: 'dead-lettering a message', keys: [...leaseKeys, ctx.keys.dead, ...partitionKeys], args, sent, reply: promoted };
        }
      }
    };
    const settleAlone = async (settle: Settlement): Promise<void> => {
      const call = step(settle);
      call.sent();
      const keyed = partitionKey !== null;
      const script = call.script === 'ack' ? (keyed ? ctx.scripts.ackKeyed : ctx.scripts.ack) : call.script === 'deadLetter' ? (keyed ? ctx.scripts.deadLetterKeyed : ctx.scripts.deadLetter) : ctx.scripts.reschedule;
      call.reply(await guarded(call.what, script(call.keys, call.args)));
    };
    const delivery: Delivery & { readonly [FUSION]: RedisDeliveryFusion } = {
      messageId,
      body: fields.b ?? '',
      deliveryCount: attempt,
      priority: band,
      partitionKey,
      enqueuedAt: Number(fields.t ?? 0),
      ack: () => settleAlone({ kind: 'ack' }),
      retry: (delayMs) => settleAlone({ kind: 'retry', delayMs }),
      release: (delayMs = 0) => settleAlone({ kind: 'release', delayMs }),
      extend: (ms) => guarded('extending a delivery', ctx.scripts.extend(leaseKeys, [...lease, Date.now() + ms])).then(() => undefined),
      deadLetter: (reason) => settleAlone({ kind: 'deadLetter', reason }),
      [FUSION]: { technology: 'redis', role: 'delivery', queue: ctx.fusion, settlement: step },
    };
    return delivery;
  }
}

/** A settle as one script call, and what to do before it is sent and with its reply. */
interface SettleStep {
  readonly script: 'ack' | 'reschedule' | 'deadLetter';
  readonly what: string;
  readonly keys: readonly string[];
  readonly args: ReadonlyArray<string | number>;
  sent(): void;
  reply(reply: unknown): void;
}

/** A consumer name unique to this subscription, readable in XINFO CONSUMERS. */
export function consumerName(host: string): string {
  return `${host}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

function parseClaim(reply: unknown): { nextDue: number | undefined; lastIds: string[]; entries: Claimed[] } {
  const parts = reply as unknown[];
  const due = parts[0];
  const entries: Claimed[] = [];
  for (let i = 2; i + 3 < parts.length; i += 4) {
    entries.push({ band: Number(parts[i]), id: String(parts[i + 1]), deliveries: Number(parts[i + 2]), fields: fieldMap(parts[i + 3] as string[]) });
  }
  return { nextDue: typeof due === 'string' && due !== '' ? Number(due) : undefined, lastIds: (parts[1] as string[] | undefined) ?? [], entries };
}

export function fieldMap(flat: readonly string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) map[flat[i] as string] = flat[i + 1] as string;
  return map;
}

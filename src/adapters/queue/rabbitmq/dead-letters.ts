/**
 * The dead letters of one queue (D224): a RabbitMQ stream, `Q:dead`, that every process appends to
 * and reads from in the same order. A stream can be read again from any offset but not changed, so
 * everything done to dead letters is appended as an entry too, and each process folds the stream
 * into the same view:
 *
 * - `letter` — a dead letter: the message's body, its id and attempts, the reason, when; its
 *   offset is its id (unique in the queue, growing with time). Past `dead_letter_max` letters, the
 *   oldest drops out of the view as the next one is folded in;
 * - `remove` / `replay` of an offset — the first such entry for a letter takes it away; the entry's
 *   author learns whether it was first, so of two concurrent replays exactly one publishes;
 * - `purge` before a time — every letter dead-lettered before it goes;
 * - `sync` — nothing: a read appends one and waits for it, so it sees every entry any process
 *   appended before (read-your-writes across processes without knowing the stream's end).
 *
 * Letters past `dead_letter_retention_seconds` are hidden on read; the stream's `x-max-age` frees
 * their space. The view keeps no bodies: a read that returns letters fetches their bodies by
 * offset. Each append resolves once this process folded it, with what it did.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { AsyncMessage, Channel } from 'rabbitmq-client';
import type { Logger } from '../../../ports/logger.js';
import type { DeadLetter } from '../../../ports/queue-backend.js';
import { deadLetterCutoff, type DeadLetterBounds } from '../../shared/dead-letters.js';
import type { RabbitClient } from './client.js';
import { translateRabbitError, unavailable } from './errors.js';
import { bodyOf, headersOf, type WireMessage } from './wire.js';

const KIND = 'x-hqm-kind';
const TOKEN = 'x-hqm-token';
const TARGET = 'x-hqm-target';
const BEFORE = 'x-hqm-before';
const REASON = 'x-hqm-reason';
const DEAD_AT = 'x-hqm-dead-at';

type Kind = 'letter' | 'remove' | 'replay' | 'purge' | 'sync';

/** How long an append waits to see itself folded before the broker counts as unavailable. */
const FOLD_TIMEOUT_MS = 15_000;
const TAIL_PREFETCH = 500;

interface Letter {
  readonly offset: number;
  readonly messageId: string;
  readonly attempts: number;
  readonly reason: string;
  readonly deadLetteredAt: number;
}

interface Waiter {
  readonly resolve: (result: number) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

export class DeadLetterLog {
  /** Live letters by offset, oldest first (entries arrive in offset order). */
  readonly #letters = new Map<number, Letter>();
  readonly #waiters = new Map<string, Waiter>();
  #tail: Promise<Channel> | undefined;
  /** The offset to read from when the tail starts again. */
  #next: number | 'first' = 'first';
  #closed = false;

  constructor(
    private readonly client: RabbitClient,
    private readonly stream: string,
    private readonly bounds: DeadLetterBounds,
    private readonly logger: Logger,
  ) {}

  /** Appends a dead letter of `message`. */
  async add(message: WireMessage, reason: string, attempts: number): Promise<void> {
    await this.#append('letter', { ...headersOf(message, this.stream), [REASON]: reason, [DEAD_AT]: Date.now(), 'x-hqm-attempts': attempts }, message.body);
  }

  /** Follows the stream from now on (the view fills as it catches up), without waiting for it. */
  async follow(): Promise<void> {
    await this.#ensureTail();
  }

  /** Waits until every entry appended before now (by any process) is folded in. */
  async sync(): Promise<void> {
    await this.#append('sync', {});
  }

  /** Takes the letter away; true when this call did (it was there, and no other took it first). */
  async remove(offset: number, kind: 'remove' | 'replay' = 'remove'): Promise<boolean> {
    return (await this.#append(kind, { [TARGET]: offset })) > 0;
  }

  /** Takes away every letter dead-lettered before `before` (epoch ms); how many this call took. */
  async purge(before: number): Promise<number> {
    return this.#append('purge', { [BEFORE]: before });
  }

  /** Live letters within retention, newest first, as folded so far. */
  live(): Letter[] {
    const cutoff = deadLetterCutoff(Date.now(), this.bounds);
    const letters: Letter[] = [];
    for (const letter of this.#letters.values()) {
      if (letter.deadLetteredAt < cutoff) this.#letters.delete(letter.offset);
      else letters.push(letter);
    }
    return letters.reverse();
  }

  has(offset: number): boolean {
    return this.live().some((letter) => letter.offset === offset);
  }

  /** `letters` with their bodies, read from the stream by offset. */
  async withBodies(letters: readonly Letter[]): Promise<DeadLetter[]> {
    if (letters.length === 0) return [];
    const bodies = await this.#read(letters.map((l) => l.offset));
    return letters.flatMap((l) => {
      const body = bodies.get(l.offset);
      // A body the stream no longer has passed its retention meanwhile.
      return body === undefined ? [] : [{ id: String(l.offset), messageId: l.messageId, body, attempts: l.attempts, reason: l.reason, deadLetteredAt: l.deadLetteredAt }];
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const [token, waiter] of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(unavailable('the RabbitMQ queue is closed'));
      this.#waiters.delete(token);
    }
    const tail = await this.#tail?.catch(() => undefined);
    this.#tail = undefined;
    await tail?.close().catch(() => undefined);
  }

  async #append(kind: Kind, headers: Record<string, string | number>, body: Buffer = Buffer.alloc(0)): Promise<number> {
    if (this.#closed) throw unavailable('the RabbitMQ queue is closed');
    await this.#ensureTail();
    const token = randomUUID();
    const folded = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(token);
        reject(unavailable(`the dead letters of ${this.stream} could not be read back within ${FOLD_TIMEOUT_MS / 1000} s`));
      }, FOLD_TIMEOUT_MS);
      this.#waiters.set(token, { resolve, reject, timer });
    });
    try {
      await this.client.publish(this.stream, body, { headers: { ...headers, [KIND]: kind, [TOKEN]: token } }, 'writing a dead letter');
    } catch (error) {
      const waiter = this.#waiters.get(token);
      if (waiter !== undefined) clearTimeout(waiter.timer);
      this.#waiters.delete(token);
      folded.catch(() => undefined);
      throw error;
    }
    return folded;
  }

  /** Starts following the stream (from where it stopped) unless it already does. */
  #ensureTail(): Promise<Channel> {
    const current = this.#tail;
    if (current !== undefined) {
      return current.then((channel) => {
        if (channel.active) return channel;
        if (this.#tail === current) this.#tail = undefined;
        return this.#ensureTail();
      });
    }
    const started = (async () => {
      const channel = await this.client.channel('following dead letters');
      try {
        await channel.basicQos({ prefetchCount: TAIL_PREFETCH });
        await channel.basicConsume({ queue: this.stream, arguments: { 'x-stream-offset': this.#next } }, (raw) => {
          this.#fold(raw);
          try {
            channel.basicAck({ deliveryTag: raw.deliveryTag });
          } catch {
            // The channel closed: it starts again from #next.
          }
        });
      } catch (error) {
        await channel.close().catch(() => undefined);
        throw translateRabbitError(error, 'following dead letters');
      }
      channel.once('close', () => {
        if (this.#tail === started) this.#tail = undefined;
        // Appends still waiting are in the stream: follow it again to see them.
        if (!this.#closed && this.#waiters.size > 0) setTimeout(() => void this.#ensureTail().catch(() => undefined), 500).unref();
      });
      return channel;
    })();
    this.#tail = started;
    started.catch(() => {
      if (this.#tail === started) this.#tail = undefined;
    });
    return started;
  }

  #fold(raw: AsyncMessage): void {
    const headers = (raw.headers ?? {}) as Record<string, unknown>;
    const offset = num(headers['x-stream-offset']);
    // A stream consumer starts at the beginning of a chunk: entries already folded come again.
    if (offset === undefined || (typeof this.#next === 'number' && offset < this.#next)) return;
    this.#next = offset + 1;
    const kind = typeof headers[KIND] === 'string' ? (headers[KIND] as Kind) : 'letter';
    let result = 0;
    if (kind === 'letter') {
      this.#letters.set(offset, {
        offset,
        messageId: str(headers['x-hqm-id']) ?? raw.messageId ?? String(offset),
        attempts: num(headers['x-hqm-attempts']) ?? num(headers['x-hqm-count']) ?? 1,
        reason: str(headers[REASON]) ?? str(headers['x-first-death-reason']) ?? 'dead-lettered by the broker',
        deadLetteredAt: num(headers[DEAD_AT]) ?? (raw.timestamp ?? 0) * 1000,
      });
      for (const oldest of this.#letters.keys()) {
        if (this.#letters.size <= this.bounds.max) break;
        this.#letters.delete(oldest);
      }
      result = 1;
    } else if (kind === 'remove' || kind === 'replay') {
      const target = num(headers[TARGET]);
      const cutoff = deadLetterCutoff(Date.now(), this.bounds);
      const letter = target === undefined ? undefined : this.#letters.get(target);
      if (letter !== undefined) {
        this.#letters.delete(letter.offset);
        result = letter.deadLetteredAt >= cutoff ? 1 : 0;
      }
    } else if (kind === 'purge') {
      const before = num(headers[BEFORE]) ?? 0;
      const cutoff = deadLetterCutoff(Date.now(), this.bounds);
      for (const letter of [...this.#letters.values()]) {
        if (letter.deadLetteredAt >= before) continue;
        this.#letters.delete(letter.offset);
        if (letter.deadLetteredAt >= cutoff) result += 1;
      }
    }
    const token = str(headers[TOKEN]);
    const waiter = token === undefined ? undefined : this.#waiters.get(token);
    if (waiter !== undefined && token !== undefined) {
      clearTimeout(waiter.timer);
      this.#waiters.delete(token);
      waiter.resolve(result);
    }
  }

  /** The bodies of the entries at `offsets`, read on a channel of its own from the lowest to the highest. */
  async #read(offsets: readonly number[]): Promise<Map<number, string>> {
    const wanted = new Set(offsets);
    const [low, high] = [Math.min(...offsets), Math.max(...offsets)];
    const bodies = new Map<number, string>();
    const channel = await this.client.channel('reading dead letters');
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(unavailable(`reading dead letters of ${this.stream} took longer than ${FOLD_TIMEOUT_MS / 1000} s`)), FOLD_TIMEOUT_MS);
        channel.once('close', () => {
          clearTimeout(timer);
          reject(unavailable(`reading dead letters of ${this.stream}: the channel closed`));
        });
        channel
          .basicQos({ prefetchCount: TAIL_PREFETCH })
          .then(() =>
            channel.basicConsume({ queue: this.stream, arguments: { 'x-stream-offset': low } }, (raw) => {
              const offset = num(raw.headers?.['x-stream-offset']);
              try {
                channel.basicAck({ deliveryTag: raw.deliveryTag });
              } catch {
                // Closing: the promise has settled.
              }
              if (offset === undefined) return;
              if (wanted.has(offset)) bodies.set(offset, bodyOf(raw).toString('utf8'));
              // Past the highest wanted (or it is gone, and the stream starts later): done.
              if (offset >= high) {
                clearTimeout(timer);
                resolve();
              }
            }),
          )
          .catch((error: unknown) => {
            clearTimeout(timer);
            reject(translateRabbitError(error, 'reading dead letters'));
          });
      });
    } finally {
      await channel.close().catch(() => undefined);
    }
    return bodies;
  }
}

function num(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}

/** Dead-letter ids are stream offsets; anything else names none. */
export function parseOffset(id: string): number | undefined {
  return /^(0|[1-9][0-9]{0,15})$/.test(id) ? Number(id) : undefined;
}

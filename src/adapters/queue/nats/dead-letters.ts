/**
 * Dead letters of one queue in a stream of their own (limits retention): at most
 * `dead_letter_max` messages, the oldest discarded first, none older than
 * `dead_letter_retention_seconds` (the stream's MaxAge, and reads skip older ones in case the
 * stream was created with a longer one). A dead letter's id is its sequence in that stream,
 * which grows with time; pages are read downwards from the newest.
 *
 * @module
 */
import { DiscardPolicy, RetentionPolicy, StorageType, type MsgRequest, type StoredMsg } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { HqmError } from '../../../core/errors.js';
import type { DeadLetter, DeadLetterPage } from '../../../ports/queue-backend.js';
import { deadLetterCutoff, type DeadLetterBounds } from '../../shared/dead-letters.js';
import type { NatsQueueOptions } from './config.js';
import { HEADER, type NatsDelivery } from './delivery.js';
import { API, apiCode, type NatsLink } from './link.js';
import type { QueueNames } from './names.js';

/** A reason is a header value: one line, bounded, so the copy of a message of the largest size still fits. */
const REASON_MAX = 1_000;
/** Dead letters read at once while paging. */
const READ_AHEAD = 32;

export class DeadLetterStream {
  #ready: Promise<void> | undefined;

  constructor(
    private readonly link: NatsLink,
    private readonly names: QueueNames,
    private readonly bounds: DeadLetterBounds,
    private readonly options: NatsQueueOptions,
  ) {}

  /** The stream exists with this process's bounds (a process with other bounds sets its own: the last one wins). */
  ready(): Promise<void> {
    this.#ready ??= this.#ensure().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async #ensure(): Promise<void> {
    const { jsm } = this.link;
    const config = {
      max_msgs: this.bounds.max,
      max_age: this.bounds.retentionMs * 1_000_000,
      discard: DiscardPolicy.Old,
    };
    await this.link.call('creating the dead-letter stream', async () => {
      try {
        await jsm.streams.add({
          name: this.names.deadStream,
          subjects: [this.names.dead],
          retention: RetentionPolicy.Limits,
          storage: this.options.storage === 'memory' ? StorageType.Memory : StorageType.File,
          num_replicas: this.options.replicas,
          ...config,
        });
      } catch (error) {
        if (apiCode(error) !== API.streamNameInUse) throw error;
        const info = await jsm.streams.info(this.names.deadStream);
        if (info.config.max_msgs !== config.max_msgs || info.config.max_age !== config.max_age) {
          await jsm.streams.update(this.names.deadStream, { ...info.config, ...config });
        }
      }
    });
  }

  async bury(delivery: NatsDelivery, reason: string): Promise<void> {
    await this.ready();
    const meta = headers();
    meta.set(HEADER.id, delivery.messageId);
    meta.set(HEADER.reason, oneLine(reason));
    meta.set(HEADER.attempts, String(delivery.deliveryCount));
    await this.link.call('dead-lettering a message', () => this.link.js.publish(this.names.dead, delivery.pulled.msg.data, { headers: meta }));
  }

  async count(): Promise<number> {
    try {
      const info = await this.link.jsm.streams.info(this.names.deadStream);
      return info.state.messages;
    } catch (error) {
      if (apiCode(error) === API.streamNotFound) return 0;
      throw error;
    }
  }

  async page(limit: number, before: string | undefined): Promise<DeadLetterPage> {
    let top: number;
    if (before === undefined) top = Number.MAX_SAFE_INTEGER;
    else {
      const seq = parseId(before);
      if (seq === undefined) throw new HqmError('HQM_ERR_VALIDATION', `"${before}" is not a dead-letter id of the NATS queue`);
      top = seq - 1;
    }
    const state = await this.#state();
    if (state === undefined) return { letters: [], next: null };
    const cutoff = deadLetterCutoff(Date.now(), this.bounds);
    const letters: DeadLetter[] = [];
    // One more than asked tells whether an older page exists.
    let seq = Math.min(top, state.last);
    let older = false;
    while (seq >= state.first && letters.length <= limit) {
      const from = Math.max(state.first, seq - READ_AHEAD + 1);
      const read = await Promise.all(Array.from({ length: seq - from + 1 }, (_, i) => this.#read(seq - i)));
      for (const stored of read) {
        if (stored === undefined) continue;
        if (stored.time.getTime() < cutoff) {
          seq = -1; // Past the retention: so is everything older.
          break;
        }
        if (letters.length === limit) {
          older = true;
          break;
        }
        letters.push(letterOf(stored));
      }
      if (older) break;
      if (seq >= 0) seq = from - 1;
    }
    return { letters, next: older ? (letters.at(-1)?.id ?? null) : null };
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    const seq = parseId(id);
    if (seq === undefined) return undefined;
    const stored = await this.#read(seq);
    if (stored === undefined || stored.time.getTime() < deadLetterCutoff(Date.now(), this.bounds)) return undefined;
    return letterOf(stored);
  }

  async remove(id: string): Promise<boolean> {
    const seq = parseId(id);
    if (seq === undefined) return false;
    return this.link.call('removing a dead letter', async () => {
      try {
        return await this.link.jsm.streams.deleteMessage(this.names.deadStream, seq, false);
      } catch (error) {
        const code = apiCode(error);
        if (code === API.noMessage || code === API.streamNotFound || code === 10057) return false;
        throw error;
      }
    });
  }

  /** Removes every dead letter stored before `before` (epoch ms): a purge below the first one at or after it. */
  async purge(before: number): Promise<number> {
    const state = await this.#state();
    if (state === undefined) return 0;
    // The first sequence whose message (or the next one after it) is not older than `before`.
    let low = state.first;
    let high = state.last + 1;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      const stored = await this.#readFrom(mid);
      if (stored === undefined || stored.time.getTime() >= before) high = mid;
      else low = mid + 1;
    }
    if (low <= state.first) return 0;
    const purged = await this.link.call('purging dead letters', () => this.link.jsm.streams.purge(this.names.deadStream, { seq: low }));
    return purged.purged;
  }

  async #state(): Promise<{ first: number; last: number } | undefined> {
    return this.link.call('reading dead letters', async () => {
      try {
        const info = await this.link.jsm.streams.info(this.names.deadStream);
        return info.state.messages === 0 ? undefined : { first: info.state.first_seq, last: info.state.last_seq };
      } catch (error) {
        if (apiCode(error) === API.streamNotFound) return undefined;
        throw error;
      }
    });
  }

  async #read(seq: number): Promise<StoredMsg | undefined> {
    return this.link.call('reading a dead letter', async () => {
      try {
        return (await this.link.jsm.streams.getMessage(this.names.deadStream, { seq })) ?? undefined;
      } catch (error) {
        if (apiCode(error) === API.noMessage || apiCode(error) === API.streamNotFound) return undefined;
        throw error;
      }
    });
  }

  /** The first dead letter at or after `seq`. */
  async #readFrom(seq: number): Promise<StoredMsg | undefined> {
    return this.link.call('reading a dead letter', async () => {
      try {
        // The server takes next_by_subj on a plain get too (since 2.9); the driver types it for direct gets only.
        const query = { seq, next_by_subj: this.names.dead } as unknown as MsgRequest;
        return (await this.link.jsm.streams.getMessage(this.names.deadStream, query)) ?? undefined;
      } catch (error) {
        if (apiCode(error) === API.noMessage || apiCode(error) === API.streamNotFound) return undefined;
        throw error;
      }
    });
  }

}

function letterOf(stored: StoredMsg): DeadLetter {
  const attempts = Number(stored.header?.get(HEADER.attempts));
  return {
    id: String(stored.seq),
    messageId: stored.header?.get(HEADER.id) || String(stored.seq),
    body: new TextDecoder().decode(stored.data),
    attempts: Number.isInteger(attempts) ? attempts : 1,
    reason: stored.header?.get(HEADER.reason) ?? '',
    deadLetteredAt: stored.time.getTime(),
  };
}

function oneLine(reason: string): string {
  const line = reason.replace(/[\r\n]+/g, ' ');
  return line.length > REASON_MAX ? `${line.slice(0, REASON_MAX)}…` : line;
}

/** Dead-letter ids are the stream's positive sequence numbers; anything else names none. */
export function parseId(id: string): number | undefined {
  return /^[1-9][0-9]{0,15}$/.test(id) ? Number(id) : undefined;
}

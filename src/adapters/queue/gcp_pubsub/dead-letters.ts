/**
 * A queue's dead letters: messages of its dead-letter topic, kept by a subscription nobody
 * acknowledges but to drop one (D255). Pub/Sub cannot list a subscription, so a read pulls
 * everything it holds (leasing it for the moment), applies both bounds — acknowledging what is
 * past `dead_letter_retention_seconds` or beyond the newest `dead_letter_max` — and gives the rest
 * back at once. Reads of one process are taken one at a time; a read in another process at the
 * same moment may see fewer (it holds some), which is why the counts are declared approximate.
 *
 * @module
 */
import type { DeadLetter } from '../../../ports/queue-backend.js';
import { deadLetterCutoff, type DeadLetterBounds } from '../../shared/dead-letters.js';
import type { PubSubClient, Pulled } from './client.js';
import { A, numberOf } from './wire.js';

/** A read stops pulling past this many (a pull answers at most 1,000): `dead_letter_max` keeps it far lower. */
const MOST_READ = 100_000;

export class DeadLetterReader {
  #reading: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: PubSubClient,
    private readonly bounds: DeadLetterBounds,
  ) {}

  /** The queue's dead letters within both bounds, newest first. */
  read(queue: string): Promise<DeadLetter[]> {
    const read = this.#reading.then(() => this.#read(queue));
    this.#reading = read.catch(() => undefined);
    return read;
  }

  async #read(queue: string): Promise<DeadLetter[]> {
    const names = await this.client.declareDead(queue);
    const held: Pulled[] = [];
    while (held.length < MOST_READ) {
      const batch = await this.client.pull(names.deadLog, 1000, { immediate: true }).done;
      if (batch.length === 0) break;
      held.push(...batch);
    }
    const letters = held.map((pulled) => ({ pulled, letter: letterOf(pulled) })).sort((x, y) => x.letter.deadLetteredAt - y.letter.deadLetteredAt || x.pulled.publishedAt - y.pulled.publishedAt);
    const cutoff = deadLetterCutoff(Date.now(), this.bounds);
    const live = letters.filter((l) => l.letter.deadLetteredAt >= cutoff);
    const kept = live.slice(-this.bounds.max);
    const keptIds = new Set(kept.map((l) => l.pulled.ackId));
    const dropped = letters.filter((l) => !keptIds.has(l.pulled.ackId)).map((l) => l.pulled.ackId);
    await this.client.ack(names.deadLog, dropped);
    await this.client.modAck(names.deadLog, [...keptIds], 0);
    return kept.map((l) => l.letter).reverse();
  }
}

function letterOf(pulled: Pulled): DeadLetter {
  return {
    id: pulled.messageId,
    messageId: pulled.attributes[A.messageId] ?? pulled.messageId,
    body: pulled.data.toString('utf8'),
    attempts: Math.max(1, numberOf(pulled.attributes, A.attempts)),
    reason: pulled.attributes[A.reason] ?? '',
    deadLetteredAt: numberOf(pulled.attributes, A.deadAt) || pulled.publishedAt,
  };
}

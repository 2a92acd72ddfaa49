/**
 * One delivery at a time per partition key, within this process (D254). Pub/Sub keeps a key's
 * messages in publish order, but one pull can hold several of them (verified on the emulator),
 * and a worker runs what it holds in parallel: so the gate hands out a key's head and holds the
 * rest back until the head is settled. A head given back (retry, release, an abandoned lease)
 * comes back before the rest — Pub/Sub redelivers a key from its first unacknowledged message —
 * so what was held behind it is given back too, to come again after it.
 *
 * @module
 */
import type { PubSubDelivery } from './delivery.js';

export class KeyGate {
  /** Per key with a head out: the deliveries held back behind it, in order. */
  readonly #behind = new Map<string, PubSubDelivery[]>();

  constructor(private readonly hand: (delivery: PubSubDelivery) => void) {}

  offer(delivery: PubSubDelivery, ordered: boolean): void {
    const key = delivery.partitionKey;
    if (!ordered || key === null) return this.hand(delivery);
    const behind = this.#behind.get(key);
    if (behind !== undefined) {
      behind.push(delivery);
      return;
    }
    this.#behind.set(key, []);
    this.hand(delivery);
  }

  /** The head of a key was settled: acked or dead-lettered ('done'), or given back ('back'). */
  settled(delivery: PubSubDelivery, outcome: 'done' | 'back'): void {
    const key = delivery.partitionKey;
    if (key === null) return;
    const behind = this.#behind.get(key);
    if (behind === undefined || behind.includes(delivery)) return;
    if (outcome === 'done') {
      const next = behind.shift();
      if (next === undefined) this.#behind.delete(key);
      else this.hand(next);
      return;
    }
    this.#behind.delete(key);
    for (const held of behind) void held.release().catch(() => undefined);
  }

  /** Everything held back (at stop): never handed out, to be given back by the caller. */
  drain(): PubSubDelivery[] {
    const all = [...this.#behind.values()].flat();
    this.#behind.clear();
    return all;
  }
}

/**
 * Completed and failed requests of the last minute, per queue, as this process saw them: a ring
 * of one-second buckets per queue fed by the worker's events. Cheap (two numbers per queue and
 * second, no I/O) and exact for the workers of this process; it does not see other processes'
 * workers — `sum(rate(openhqm_queue_finished_total[1m]))` over every process is the
 * deployment-wide figure (D108).
 *
 * @module
 */
import type { HqmEvents } from '../core/events.js';

const BUCKET_MS = 1000;

export type RecentOutcome = 'completed' | 'failed';

interface Bucket {
  /** The second this bucket counts (epoch ms / BUCKET_MS); older contents are stale. */
  second: number;
  completed: number;
  failed: number;
}

export class RecentOutcomes {
  readonly #rings = new Map<string, Bucket[]>();
  readonly #size: number;

  constructor(
    readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {
    this.#size = Math.max(1, Math.ceil(windowMs / BUCKET_MS));
  }

  /** Counts the outcomes of `events` until the returned function is called. */
  observe(events: HqmEvents): () => void {
    const completed = ({ queue }: { queue: string }): void => this.add(queue, 'completed');
    // A failed attempt that will be retried is not an outcome; FAILED and TIMEOUT are.
    const failed = ({ queue }: { queue: string }): void => this.add(queue, 'failed');
    events.on('request:completed', completed);
    events.on('request:failed', failed);
    events.on('request:timeout', failed);
    return () => {
      events.off('request:completed', completed);
      events.off('request:failed', failed);
      events.off('request:timeout', failed);
    };
  }

  add(queue: string, outcome: RecentOutcome): void {
    const second = Math.floor(this.now() / BUCKET_MS);
    let ring = this.#rings.get(queue);
    if (ring === undefined) {
      ring = Array.from({ length: this.#size }, () => ({ second: -1, completed: 0, failed: 0 }));
      this.#rings.set(queue, ring);
    }
    const bucket = ring[second % this.#size] as Bucket;
    if (bucket.second !== second) Object.assign(bucket, { second, completed: 0, failed: 0 });
    bucket[outcome] += 1;
  }

  /** Outcomes of `queue` within the window ending now. */
  count(queue: string): { completed: number; failed: number } {
    const ring = this.#rings.get(queue);
    const total = { completed: 0, failed: 0 };
    if (ring === undefined) return total;
    const oldest = Math.floor(this.now() / BUCKET_MS) - this.#size + 1;
    for (const bucket of ring) {
      if (bucket.second < oldest) continue;
      total.completed += bucket.completed;
      total.failed += bucket.failed;
    }
    return total;
  }
}

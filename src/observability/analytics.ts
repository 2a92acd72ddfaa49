/**
 * Feeds the hourly analytics from the request events: counts and latency samples accumulate in
 * memory (core/analytics/hourly.ts) and are written as deltas once a second and at shutdown, so
 * the request path pays a map update per event, never a write. A write that fails is kept and
 * added to the next one: a store outage delays the counters, it does not lose them (a crash
 * loses at most the last second).
 *
 * What is counted (per hour of the event, per queue):
 * - submitted, completed, failed, timed_out, cancelled, dead_lettered: one per event;
 * - wait: the queue wait of a request's first claim (attempt 1);
 * - processing: the processing time of the attempt that ended a request (completed, failed, or
 *   timed out while it ran; one that timed out before it ran has no processing time).
 *
 * @module
 */
import { HourlyAccumulator, type Counter, type HourlyDelta } from '../core/analytics/hourly.js';
import type { HqmEventMap, HqmEvents } from '../core/events.js';

/** How often the accumulated deltas are written. */
export const ANALYTICS_FLUSH_MS = 1_000;

export interface AnalyticsRecorderOptions {
  /** Writes deltas (the result store's analytics.add, with the retention). */
  readonly write: (deltas: readonly HourlyDelta[]) => Promise<void>;
  /** The name a queue is counted under, from the name an event carries; as it is when absent. */
  readonly queueOf?: (name: string) => string;
  /** Told of a write that failed (it will be tried again with the next flush). */
  readonly onError?: (error: unknown) => void;
  readonly flushMs?: number;
  readonly now?: () => number;
}

export class AnalyticsRecorder {
  readonly #acc = new HourlyAccumulator();
  readonly #options: AnalyticsRecorderOptions;
  readonly #unsubscribe: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;

  constructor(events: HqmEvents, options: AnalyticsRecorderOptions) {
    this.#options = options;
    const now = options.now ?? Date.now;
    const queueOf = options.queueOf ?? ((name: string) => name);
    const acc = this.#acc;
    const count = (counter: Counter) => ({ queue }: { queue: string }) => acc.count(now(), queueOf(queue), counter);
    const ended = (counter: Counter) => ({ queue, durationMs }: { queue: string; durationMs: number }) => {
      const at = now();
      acc.count(at, queueOf(queue), counter);
      // A request timed out before any worker ran it has no processing time (0 says so).
      if (counter !== 'timed_out' || durationMs > 0) acc.observe(at, queueOf(queue), 'processing', durationMs);
    };
    this.#listen(events, 'request:submitted', count('submitted'));
    this.#listen(events, 'request:cancelled', count('cancelled'));
    this.#listen(events, 'request:dead_lettered', count('dead_lettered'));
    this.#listen(events, 'request:completed', ended('completed'));
    this.#listen(events, 'request:failed', ended('failed'));
    this.#listen(events, 'request:timeout', ended('timed_out'));
    this.#listen(events, 'request:claimed', ({ queue, attempt, waitMs }) => {
      // Later attempts waited for a retry's backoff, not in the queue: only the first claim is a sample.
      if (attempt === 1) acc.observe(now(), queueOf(queue), 'wait', waitMs);
    });
  }

  /** Starts writing every `flushMs`. */
  start(): this {
    this.#timer ??= setInterval(() => void this.flush(), this.#options.flushMs ?? ANALYTICS_FLUSH_MS);
    this.#timer.unref();
    return this;
  }

  /** Writes what accumulated; joins a write in progress rather than overlapping it. */
  async flush(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
    if (this.#acc.size === 0) return;
    const deltas = this.#acc.take();
    this.#flushing = this.#options
      .write(deltas)
      .catch((error: unknown) => {
        this.#acc.restore(deltas);
        this.#options.onError?.(error);
      })
      .finally(() => {
        this.#flushing = undefined;
      });
    await this.#flushing;
  }

  /** Stops listening and writes the rest (once: a failure now is reported, not retried). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const off of this.#unsubscribe.splice(0)) off();
    await this.flush();
  }

  #listen<E extends keyof HqmEventMap>(events: HqmEvents, name: E, listener: (...args: HqmEventMap[E]) => void): void {
    // TypeScript cannot narrow EventEmitter's conditional listener type for a generic E.
    const typed = listener as Parameters<HqmEvents['on']>[1];
    events.on(name, typed);
    this.#unsubscribe.push(() => events.off(name, typed));
  }
}

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
 * Given `writeMinutes`, it also counts completed and failed (FAILED or TIMEOUT) requests per
 * minute (core/analytics/minutes.ts) for the "last minute" of `GET /api/v1/queues`, written in
 * the same flush with the same keep-and-retry on failure.
 *
 * @module
 */
import { HourlyAccumulator, type Counter, type HourlyDelta } from '../core/analytics/hourly.js';
import { MinuteAccumulator, type MinuteCount, type MinuteOutcome } from '../core/analytics/minutes.js';
import type { HqmEventMap, HqmEvents } from '../core/events.js';

/** How often the accumulated deltas are written. */
export const ANALYTICS_FLUSH_MS = 1_000;

export interface AnalyticsRecorderOptions {
  /** Writes deltas (the result store's analytics.add, with the retention). */
  readonly write: (deltas: readonly HourlyDelta[]) => Promise<void>;
  /** Writes per-minute outcome counts (the result store's analytics.addMinutes); none are counted without it. */
  readonly writeMinutes?: (counts: readonly MinuteCount[]) => Promise<void>;
  /** The name a queue is counted under, from the name an event carries; as it is when absent. */
  readonly queueOf?: (name: string) => string;
  /** Told of a write that failed (it will be tried again with the next flush). */
  readonly onError?: (error: unknown) => void;
  /** Told of a flush that wrote everything it had (so a failure reported before is over). */
  readonly onWritten?: () => void;
  readonly flushMs?: number;
  readonly now?: () => number;
}

export class AnalyticsRecorder {
  readonly #acc = new HourlyAccumulator();
  readonly #minutes = new MinuteAccumulator();
  readonly #options: AnalyticsRecorderOptions;
  readonly #unsubscribe: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;

  constructor(events: HqmEvents, options: AnalyticsRecorderOptions) {
    this.#options = options;
    const now = options.now ?? Date.now;
    const queueOf = options.queueOf ?? ((name: string) => name);
    const acc = this.#acc;
    const minutes = options.writeMinutes === undefined ? undefined : this.#minutes;
    const count = (counter: Counter) => ({ queue }: { queue: string }) => acc.count(now(), queueOf(queue), counter);
    const outcomeOf: Partial<Record<Counter, MinuteOutcome>> = { completed: 'completed', failed: 'failed', timed_out: 'failed' };
    const ended = (counter: Counter) => ({ queue, durationMs }: { queue: string; durationMs: number }) => {
      const at = now();
      acc.count(at, queueOf(queue), counter);
      const outcome = outcomeOf[counter];
      if (minutes !== undefined && outcome !== undefined) minutes.count(at, queueOf(queue), outcome);
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
    if (this.#acc.size === 0 && this.#minutes.size === 0) return;
    const deltas = this.#acc.take();
    const minutes = this.#minutes.take();
    const { write, writeMinutes } = this.#options;
    // Each kind is kept on its own failure: one store call failing does not write the other twice.
    const written = Promise.allSettled([
      deltas.length === 0 ? undefined : write(deltas).catch((error: unknown) => {
        this.#acc.restore(deltas);
        throw error;
      }),
      minutes.length === 0 || writeMinutes === undefined ? undefined : writeMinutes(minutes).catch((error: unknown) => {
        this.#minutes.restore(minutes);
        throw error;
      }),
    ]);
    this.#flushing = written
      .then((results) => {
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed !== undefined) this.#options.onError?.(failed.reason);
        else this.#options.onWritten?.();
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

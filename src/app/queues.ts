/**
 * The named queues of a configuration (`queues:`), as the worker pool and the API take them.
 * `default` always exists — requests without `metadata.queue` and outside producers' messages
 * on `queue.request_queue_name` go there — with weight 1 unless `queues.default` says otherwise.
 *
 * @module
 */
import type { Config } from '../config/schema.js';
import { backendQueueName } from '../core/queues.js';
import { DEFAULT_QUEUE } from '../core/request/envelope.js';
import type { WorkerQueue } from '../worker/runner.js';

export interface ConfiguredQueue extends WorkerQueue {
  /** Deadline of a request of this queue without metadata.timeout (its own, or worker.timeout_seconds). */
  readonly defaultTimeoutSeconds: number;
}

/** Every configured queue, in the order declared (`default` first when not declared). */
export function configuredQueues(config: Config): ConfiguredQueue[] {
  const w = config.worker;
  const declared = Object.entries(config.queues);
  const all = declared.some(([name]) => name === DEFAULT_QUEUE) ? declared : [[DEFAULT_QUEUE, null] as const, ...declared];
  return all.map(([name, q]) => ({
    name,
    backendQueue: backendQueueName(config.queue.request_queue_name, name),
    weight: q?.weight ?? 1,
    concurrency: q?.concurrency ?? null,
    retry: {
      maxAttempts: (q?.max_retries ?? w.max_retries) + 1,
      baseMs: (q?.retry_delay_base ?? w.retry_delay_base) * 1000,
      maxMs: w.retry_delay_max * 1000,
    },
    defaultTimeoutSeconds: q?.timeout_seconds ?? w.timeout_seconds,
  }));
}

/** The queues a worker process consumes: `worker.queues` (`--queues`), or all of them. */
export function servedQueues(config: Config): ConfiguredQueue[] {
  const all = configuredQueues(config);
  const only = config.worker.queues;
  return only.length === 0 ? all : all.filter((q) => only.includes(q.name));
}

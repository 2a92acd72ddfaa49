/**
 * Wires the hourly analytics: the recorder (observability/) listens to this process's events
 * and writes its deltas to the result store's analytics, with `analytics.retention_days`, and
 * its per-minute outcome counts (the "last minute" of `GET /api/v1/queues`).
 *
 * @module
 */
import type { Config } from '../config/schema.js';
import { AnalyticsRecorder } from '../observability/analytics.js';
import type { HqmEvents } from '../core/events.js';
import type { Logger } from '../ports/logger.js';
import type { ResultStore } from '../ports/result-store.js';
import { configuredQueues } from './queues.js';

export function startAnalytics(config: Config, events: HqmEvents, store: ResultStore, logger: Logger): AnalyticsRecorder {
  const retentionMs = config.analytics.retention_days * 86_400_000;
  // Events name the backend queue (the worker's, the publish target): stats are asked for by the
  // name clients give in metadata.queue.
  const logical = new Map(configuredQueues(config).map((q) => [q.backendQueue, q.name]));
  let failing = false;
  return new AnalyticsRecorder(events, {
    write: (deltas) => store.analytics.add(deltas, retentionMs),
    writeMinutes: (counts) => store.analytics.addMinutes(counts),
    onWritten: () => {
      if (failing) logger.info({}, 'analytics: writing hourly counters works again');
      failing = false;
    },
    queueOf: (name) => logical.get(name) ?? name,
    // Once per outage: the deltas are kept and written with the next flush that succeeds.
    onError: (error) => {
      if (!failing) logger.warn({ err: error }, 'analytics: hourly counters could not be written; kept and retried every second');
      failing = true;
    },
  }).start();
}

/**
 * A process forked by the primary of `--processes N` (D150): it runs today's app unchanged and
 * talks to the primary over the cluster's IPC channel to say it is ready, to take the stop the
 * primary forwards, and to answer GET /metrics for every process, not only itself (D151).
 *
 * @module
 */
import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from '../../config/schema.js';
import { HqmError } from '../../core/errors.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Logger } from '../../ports/logger.js';
import { isToMember, type MetricsRequest, type ReadyMessage } from './messages.js';

/**
 * How long a scrape waits for the primary's gathering: longer than prom-client's own 5 s per
 * gathering, so its error (a process that did not answer) is the one reported.
 */
const METRICS_WAIT_MS = 8000;

export interface ClusterMember {
  /** The configuration this process runs with: a configured worker.id gets this process's number, so ids stay unique. */
  configure(config: Config): Config;
  /** GET /metrics of this process answers for every process of the cluster. */
  shareMetrics(metrics: Metrics): void;
  /** Tells the primary this process takes work, and stops gracefully when the primary says so. */
  ready(stop: () => Promise<void>): void;
}

/** This process as a member of an openhqm primary's cluster. Call once, in a forked process only. */
export function joinCluster(logger: Logger): ClusterMember {
  const worker = cluster.worker;
  if (worker === undefined) throw new Error('joinCluster: not a process forked by node:cluster');
  // Answers the primary's gatherings from now on; until shareMetrics, with the empty global registry.
  new AggregatorRegistry();
  const waiting = new Map<number, { resolve: (text: string) => void; reject: (error: unknown) => void; timer: NodeJS.Timeout }>();
  let stop: (() => Promise<void>) | undefined;
  let nextId = 0;

  process.on('message', (message: unknown) => {
    if (!isToMember(message)) return;
    if (message.type === 'openhqm:metrics-reply') {
      const pending = waiting.get(message.id);
      if (pending === undefined) return; // Already timed out.
      waiting.delete(message.id);
      clearTimeout(pending.timer);
      if (message.text !== undefined) pending.resolve(message.text);
      else pending.reject(unavailable(message.error ?? 'no answer'));
      return;
    }
    const graceful = stop;
    if (graceful === undefined) return; // Not ready: the primary signals such a process instead.
    logger.info({ signal: message.signal }, 'stop forwarded by the primary: stopping gracefully');
    graceful().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'graceful shutdown failed');
        process.exit(1);
      },
    );
  });

  const gather = (): Promise<string> =>
    new Promise((resolve, reject) => {
      if (!process.connected || process.send === undefined) {
        reject(unavailable('the primary process is gone'));
        return;
      }
      const id = nextId++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(unavailable(`no answer within ${METRICS_WAIT_MS} ms`));
      }, METRICS_WAIT_MS);
      waiting.set(id, { resolve, reject, timer });
      process.send({ type: 'openhqm:metrics-request', id } satisfies MetricsRequest);
    });

  return {
    configure(config) {
      if (config.worker.id === null) return config; // hostname-pid: unique already.
      return { ...config, worker: { ...config.worker, id: `${config.worker.id}-${worker.id}` } };
    },
    shareMetrics(metrics) {
      AggregatorRegistry.setRegistries([metrics.registry]);
      metrics.renderWith(gather);
    },
    ready(graceful) {
      stop = graceful;
      process.send?.({ type: 'openhqm:ready' } satisfies ReadyMessage);
    },
  };
}

function unavailable(why: string): HqmError {
  return new HqmError('HQM_ERR_METRICS_UNAVAILABLE', `metrics of every process could not be gathered: ${why}`, { details: { why } });
}

/**
 * `GET /api/v1/queues` (admin): each configured queue with its backend counts (depth, delayed,
 * in flight, dead letters, how long its oldest ready message has waited) and the requests
 * completed and failed in the last minute, read from the per-minute counters every process's
 * analytics recorder adds to in the result store (core/analytics/minutes.ts): the deployment's
 * where the store is shared, this process's on one that is not.
 * Bounded by configuration: one stats() call per configured queue and one read of a few minute
 * rows, no pagination needed.
 *
 * With `Accept: text/event-stream` the same table live (streams/queue-stream.ts), read once per
 * interval by one feed that every stream of this process shares.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { RECENT_WINDOW_MS, recentCounts, recentWindowSince } from '../../core/analytics/minutes.js';
import { unavailable } from '../accept.js';
import type { QueueListing, RouteContext } from '../context.js';
import { errorResponse } from '../schemas.js';
import { streamOptions } from '../streams/options.js';
import { QueueFeed } from '../streams/queue-feed.js';
import { streamQueues } from '../streams/queue-stream.js';
import { wantsEventStream } from '../streams/sse.js';

const count = { type: 'integer', minimum: 0 } as const;

const queuesResponse = {
  type: 'object',
  properties: {
    queues: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string', description: 'The name metadata.queue takes.' },
          backend_queue: { type: 'string', description: 'The queue (stream, topic) in the backend.' },
          weight: { type: 'integer', description: 'Share of contended worker slots.' },
          concurrency: { type: ['integer', 'null'], description: 'Most of its requests running at once per worker process; null: up to worker.count.' },
          depth: { ...count, description: 'Waiting messages, ready and delayed.' },
          delayed: { ...count, description: 'Of depth, those not due yet.' },
          in_flight: { ...count, description: 'Delivered to a worker and not yet settled.' },
          dead_letters: count,
          oldest_waiting_seconds: { type: ['number', 'null'], description: 'How long the message waiting longest for a worker has been ready; null when none is ready (or the backend cannot tell).' },
          completed_last_minute: { ...count, description: 'Completed in about the last 60 s (see `window`).' },
          failed_last_minute: { ...count, description: 'FAILED or TIMEOUT in about the last 60 s (see `window`).' },
        },
      },
    },
    window: {
      type: 'object',
      description:
        'What the *_last_minute counts cover: `deployment` — every process sharing the result store (SQLite file, Redis), `process` — only the answering one (memory store). Counted per minute and read as a sliding window (the earlier minute weighted by its overlap), written about once a second: an approximation.',
      properties: { seconds: { type: 'integer' }, scope: { type: 'string', enum: ['deployment', 'process'] } },
    },
  },
} as const;

const QUEUES_STREAM_DESCRIPTION =
  'With `Accept: text/event-stream`: the same table live, as Server-Sent Events — `event: queues` with this body every api.queues_stream_interval_seconds (the first at once), ' +
  'or `event: unavailable` with `{code, detail}` when a read failed (the stream stays open). One read per interval serves every stream of the process; a client that reads slowly skips snapshots rather than queueing them. ' +
  'Past api.max_streams open streams: 503 with Retry-After.';

export function registerQueuesRoute(app: FastifyInstance, ctx: RouteContext): void {
  const listed: readonly QueueListing[] = ctx.options.queueShares ?? [...ctx.options.queues].map(([name, backendQueue]) => ({ name, backendQueue, weight: 1, concurrency: null }));
  // Shared store, shared counts: the same test that says other processes' changes reach us.
  const scope = ctx.store.capabilities.sharedChangeFeed ? 'deployment' : 'process';
  const read = () => readQueues(ctx, listed, scope);
  const feed = new QueueFeed(read, streamOptions(ctx.options.streams).queuesIntervalMs);
  app.get(
    '/api/v1/queues',
    {
      // Not in the access table: admin only (queue depths say how busy every tenant is).
      schema: {
        tags: ['queues'],
        summary: 'List the queues with their backlog and recent throughput; JSON, or a live Server-Sent Events stream',
        description:
          'Admin only. Each configured queue (queues: in the configuration; `default` always) with its depth, delayed and in-flight counts, dead letters and the age of its oldest ready message, read from the queue backend, and the requests completed and failed in about the last minute, by every worker sharing the result store (see `window`). ' +
          QUEUES_STREAM_DESCRIPTION,
        response: {
          200: {
            description: 'The queue table (JSON), or its live event stream (text/event-stream).',
            content: {
              'application/json': { schema: queuesResponse },
              'text/event-stream': { schema: { type: 'string', description: 'Server-Sent Events: queues and unavailable events, as described above.' } },
            },
          },
          401: errorResponse,
          403: errorResponse,
          503: errorResponse,
        },
      },
    },
    async (request, reply) => {
      if (!wantsEventStream(request)) return read();
      streamQueues(ctx, reply, feed);
      return reply;
    },
  );
}

/** The body of GET /api/v1/queues: each queue's backend counts and its last minute's outcomes. */
async function readQueues(ctx: RouteContext, listed: readonly QueueListing[], scope: 'deployment' | 'process') {
  const now = Date.now();
  const minutes = await ctx.store.analytics.minutes(recentWindowSince(now)).catch((error: unknown) => {
    throw unavailable(error, 'the result store');
  });
  const recent = recentCounts(minutes, now);
  const queues = await Promise.all(
    listed.map(async (q) => {
      const stats = await ctx.queue.stats(q.backendQueue).catch((error: unknown) => {
        throw unavailable(error, 'the queue');
      });
      const oldest = stats.oldestReadyAt ?? null;
      const outcomes = recent.get(q.name) ?? { completed: 0, failed: 0 };
      return {
        name: q.name,
        backend_queue: q.backendQueue,
        weight: q.weight,
        concurrency: q.concurrency,
        depth: stats.depth,
        delayed: stats.delayed,
        in_flight: stats.inFlight,
        dead_letters: stats.deadLettered,
        oldest_waiting_seconds: oldest === null ? null : Math.max(0, now - oldest) / 1000,
        completed_last_minute: outcomes.completed,
        failed_last_minute: outcomes.failed,
      };
    }),
  );
  return { queues, window: { seconds: RECENT_WINDOW_MS / 1000, scope } };
}

/**
 * `GET /api/v1/queues` with `Accept: text/event-stream`: the queue table as Server-Sent Events,
 * for the dashboard and any EventSource client.
 *
 *     event: queues            every api.queues_stream_interval_seconds: the GET /api/v1/queues body
 *     data: {"queues":[…],"window":{…}}
 *
 *     event: unavailable       a read failed (a backend down): {code, detail}; the stream stays
 *     data: {"code":"HQM_ERR_BACKEND_UNAVAILABLE","detail":"…"}     open and the next read may succeed
 *
 * Each snapshot replaces the one before, so nothing is owed to a client that reads slowly: a
 * snapshot that finds the previous ones still buffered is dropped rather than queued, and a
 * stalled reader costs at most a socket buffer. Events carry no id: a client that reconnects
 * simply gets the current table.
 *
 * @module
 */
import type { FastifyReply } from 'fastify';
import { HqmError, isHqmError } from '../../core/errors.js';
import type { RouteContext } from '../context.js';
import { streamOptions } from './options.js';
import type { QueueFeed, QueueSnapshot } from './queue-feed.js';

/**
 * Streams `feed` to the client. Throws (before anything is sent) when `api.max_streams`
 * streams are open; otherwise owns the response until the client leaves or the process stops.
 */
export function streamQueues<T>(ctx: RouteContext, reply: FastifyReply, feed: QueueFeed<T>): void {
  const { heartbeatMs } = streamOptions(ctx.options.streams);
  const raw = reply.raw;
  let cleanup = (): void => undefined;
  const slot = ctx.streamHub.open(() => {
    cleanup();
    raw.end();
  });
  if (slot === undefined) throw new HqmError('HQM_ERR_OVERLOADED', 'too many live streams are open (api.max_streams); poll GET /api/v1/queues or try again shortly');
  reply.hijack();
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // nginx buffers responses unless told not to, which would hold every snapshot back.
    'x-accel-buffering': 'no',
  });
  raw.write(': openhqm\n\n');
  // Snapshots keep a short interval's stream busy; a long one (up to a minute) needs the comment line.
  const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), heartbeatMs);
  const unsubscribe = feed.subscribe((snapshot) => {
    if (!raw.writableNeedDrain) raw.write(frame(snapshot));
  });
  cleanup = () => {
    clearInterval(heartbeat);
    unsubscribe();
    slot.release();
  };
  raw.once('close', cleanup);
}

function frame<T>(snapshot: QueueSnapshot<T>): string {
  if (snapshot.ok) return `event: queues\ndata: ${JSON.stringify(snapshot.value)}\n\n`;
  const error = snapshot.error;
  // Our own errors say which backend and why; anything else is not ours to describe to a client.
  const body = isHqmError(error) ? { code: error.code, detail: error.message } : { code: 'HQM_ERR_INTERNAL', detail: 'the queue table could not be read' };
  return `event: unavailable\ndata: ${JSON.stringify(body)}\n\n`;
}

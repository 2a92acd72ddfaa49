/**
 * `GET /api/v1/requests/{id}/events` with `Accept: text/event-stream`: the audit trail as
 * Server-Sent Events (WHATWG HTML §9.2), so a browser's EventSource or the `eventsource` npm
 * client follows a request without polling.
 *
 *     event: status            one per trail entry, oldest first; id is its sequence number
 *     id: 2
 *     data: {"correlation_id":"…","seq":2,"at":"…","from":"PENDING","to":"PROCESSING",…}
 *
 *     event: progress          while PROCESSING, when the processor reports progress (no id)
 *     event: result            the GET /api/v1/response/{id} body; id `result`; then the stream ends
 *
 * `Last-Event-ID: n` (sent by EventSource when it reconnects) resumes after entry n; after
 * `result` the request has nothing more to say, and the reconnect is answered 204, which tells
 * EventSource to stop. A comment line every `heartbeatMs` keeps idle proxies from closing it.
 *
 * @module
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HqmError, ValidationError } from '../../core/errors.js';
import type { RouteContext } from '../context.js';
import { streamOptions } from './options.js';
import { TrailFollower, type TrailItem } from './trail-follower.js';

/** The id of the `result` event, after which a reconnect is told there is nothing more (204). */
export const RESULT_EVENT_ID = 'result';

/** Whether the client asked for the event stream rather than the JSON trail (a HEAD gets the JSON trail's headers). */
export function wantsEventStream(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return request.method === 'GET' && typeof accept === 'string' && accept.toLowerCase().includes('text/event-stream');
}

/**
 * Where to resume: 0 for the whole trail, n after entry n, or 'done' once the result was seen.
 * Anything else is a client mistake (422), not a silent restart from the beginning.
 */
export function resumePoint(request: FastifyRequest): number | 'done' {
  const raw = request.headers['last-event-id'];
  if (raw === undefined) return 0;
  const value = (Array.isArray(raw) ? raw.join(',') : raw).trim();
  if (value === RESULT_EVENT_ID) return 'done';
  if (value === '') return 0;
  if (/^\d{1,9}$/.test(value)) return Number(value);
  throw new ValidationError([{ path: 'header.last-event-id', message: `must be an event id this stream sent (a sequence number, or "${RESULT_EVENT_ID}")` }]);
}

/**
 * Streams the trail of `id`, which the caller has already found and may see. Throws (before
 * anything is sent) when `api.max_streams` streams are open; otherwise owns the response.
 */
export function streamTrail(ctx: RouteContext, reply: FastifyReply, id: string, afterSeq: number): void {
  const { heartbeatMs } = streamOptions(ctx.options.streams);
  const raw = reply.raw;
  let cleanup = (): void => undefined;
  const slot = ctx.streamHub.open(() => {
    cleanup();
    raw.end();
  });
  if (slot === undefined) throw new HqmError('HQM_ERR_OVERLOADED', `too many live streams are open (api.max_streams); poll GET /api/v1/response/${id}?wait=N or try again shortly`);
  reply.hijack();
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // nginx buffers responses unless told not to, which would hold every event back.
    'x-accel-buffering': 'no',
  });
  // A first line so the client (and any proxy) sees the stream open before the first event.
  raw.write(': openhqm\n\n');
  const heartbeat = setInterval(() => {
    raw.write(': heartbeat\n\n');
    follower.refresh();
  }, heartbeatMs);
  const follower = new TrailFollower(ctx, ctx.streamHub, id, afterSeq, {
    item: (item) => raw.write(frame(item)),
    // After a failure the client reconnects with Last-Event-ID and resumes where it was.
    end: () => raw.end(),
  });
  cleanup = () => {
    clearInterval(heartbeat);
    follower.stop();
    slot.release();
  };
  raw.once('close', cleanup);
  follower.start();
}

function frame(item: TrailItem): string {
  const id = item.kind === 'result' ? `id: ${RESULT_EVENT_ID}\n` : item.kind === 'progress' ? '' : `id: ${item.seq}\n`;
  // JSON.stringify escapes line breaks inside strings, so the data is always one line.
  return `event: ${item.kind}\n${id}data: ${JSON.stringify(item.data)}\n\n`;
}

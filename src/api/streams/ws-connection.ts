/**
 * One WebSocket connection on `/api/v1/ws`: many subscriptions (each a TrailFollower, so a
 * subscriber sees exactly what the SSE stream shows) and submits, on one socket.
 *
 * Bounds, so no client can make the server hold memory for it:
 * - at most `wsMaxSubscriptions` requests followed at once;
 * - at most MAX_SUBMITS_IN_FLIGHT submits running; past that the socket stops being read
 *   (TCP pushes back on the client) until one finishes;
 * - a client that leaves more than `wsMaxBufferedBytes` unread is closed with 1008 (policy
 *   violation) instead of the server buffering what it does not read. The check runs before
 *   each send, so what is held is at most the cap plus one message.
 *
 * @module
 */
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { HqmError, isHqmError } from '../../core/errors.js';
import { normalizeCorrelationId } from '../../core/request/ids.js';
import { mayView } from '../auth.js';
import type { RouteContext } from '../context.js';
import { streamOptions } from './options.js';
import { TrailFollower, type TrailEnd, type TrailItem } from './trail-follower.js';
import { errorMessage, parseClientMessage, refOf, type ClientMessage } from './ws-messages.js';

/** Submits one connection may have running at once before its socket stops being read. */
export const MAX_SUBMITS_IN_FLIGHT = 32;

/** RFC 6455 close codes. */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_TRY_AGAIN_LATER = 1013;

/** Runs one submit as POST /api/v1/submit would for this connection's client. */
export type SubmitOverSocket = (body: Readonly<Record<string, unknown>>, idempotencyKey: string | undefined) => Promise<Readonly<Record<string, unknown>>>;

export function serveConnection(ctx: RouteContext, socket: WebSocket, request: FastifyRequest, submit: SubmitOverSocket): void {
  const options = streamOptions(ctx.options.streams);
  const followers = new Map<string, TrailFollower>();
  /** Ids being looked up before they are followed; they count against the cap already. */
  const pending = new Set<string>();
  let submits = 0;
  let closed = false;

  const shutDown = (code: number, reason: string): void => {
    if (closed) return;
    closed = true;
    for (const follower of followers.values()) follower.stop();
    followers.clear();
    pending.clear();
    clearInterval(heartbeat);
    slot?.release();
    socket.close(code, reason);
  };
  const slot = ctx.streamHub.open(() => shutDown(CLOSE_GOING_AWAY, 'the server is shutting down'));
  if (slot === undefined) {
    socket.close(CLOSE_TRY_AGAIN_LATER, 'too many live streams (api.max_streams); try again later');
    return;
  }

  const send = (message: object): void => {
    if (closed || socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > options.wsMaxBufferedBytes) {
      return shutDown(CLOSE_POLICY_VIOLATION, `slow consumer: more than ${options.wsMaxBufferedBytes} bytes unread (api.ws_max_buffered_bytes)`);
    }
    socket.send(JSON.stringify(message));
  };

  // Pings keep idle proxies from closing the socket and find peers that vanished without a FIN.
  let alive = true;
  socket.on('pong', () => (alive = true));
  const heartbeat = setInterval(() => {
    if (!alive) return socket.terminate();
    alive = false;
    socket.ping();
    for (const follower of followers.values()) follower.refresh();
  }, options.heartbeatMs);

  const follow = (id: string): void => {
    const follower = new TrailFollower(ctx.store, ctx.streamHub, id, 0, {
      item: (item: TrailItem) => send({ type: item.kind, ...item.data }),
      end: (end: TrailEnd) => {
        followers.delete(id);
        if (end.reason === 'gone') send(errorMessage(notFound(), { correlation_id: id }));
        if (end.reason === 'failed') send(errorMessage(unavailable(end.error), { correlation_id: id }));
      },
    });
    followers.set(id, follower);
    follower.start();
  };

  const subscribe = async (given: readonly string[], ref: string | number | undefined): Promise<void> => {
    const wanted: string[] = [];
    for (const raw of given) {
      const id = normalizeCorrelationId(raw);
      if (id === undefined) {
        send(errorMessage(notFound(), { correlation_id: raw, ref }));
        continue;
      }
      if (followers.has(id) || pending.has(id) || wanted.includes(id)) continue;
      if (followers.size + pending.size >= options.wsMaxSubscriptions) {
        send(errorMessage(new HqmError('HQM_ERR_VALIDATION', `at most ${options.wsMaxSubscriptions} subscriptions per connection (api.ws_max_subscriptions); unsubscribe first`), { correlation_id: id, ref }));
        continue;
      }
      pending.add(id);
      wanted.push(id);
    }
    await Promise.all(
      wanted.map(async (id) => {
        const record = await ctx.store.get(id).catch((error: unknown) => error as Error);
        // Unsubscribed or closed meanwhile: nothing to follow.
        if (!pending.delete(id) || closed) return;
        if (record instanceof Error) return send(errorMessage(unavailable(record), { correlation_id: id, ref }));
        // Another tenant's request is not there, as far as this client can tell.
        if (record === undefined || !mayView(request, record)) return send(errorMessage(notFound(), { correlation_id: id, ref }));
        follow(id);
      }),
    );
  };

  const unsubscribe = (given: readonly string[]): void => {
    for (const raw of given) {
      const id = normalizeCorrelationId(raw);
      if (id === undefined) continue;
      pending.delete(id);
      followers.get(id)?.stop();
      followers.delete(id);
    }
  };

  const runSubmit = async (message: Extract<ClientMessage, { type: 'submit' }>): Promise<void> => {
    submits += 1;
    if (submits >= MAX_SUBMITS_IN_FLIGHT) socket.pause();
    try {
      send({ ...(await submit(message.request, message.idempotency_key)), ...(message.ref === undefined ? {} : { ref: message.ref }) });
    } finally {
      submits -= 1;
      if (socket.isPaused && submits < MAX_SUBMITS_IN_FLIGHT && !closed) socket.resume();
    }
  };

  socket.on('message', (data, isBinary) => {
    if (closed) return;
    let message: ClientMessage;
    try {
      message = parseClientMessage(data, isBinary);
    } catch (error) {
      return send(errorMessage(isHqmError(error) ? error : internal(error), { ref: refOf(data) }));
    }
    const work =
      message.type === 'subscribe' ? subscribe(message.ids, message.ref) : message.type === 'unsubscribe' ? Promise.resolve(unsubscribe(message.ids)) : runSubmit(message);
    work.catch((error: unknown) => {
      request.log.error({ err: error }, 'websocket: a message failed unexpectedly');
      send(errorMessage(internal(error), { ref: message.ref }));
    });
  });
  socket.on('close', () => {
    closed = true;
    for (const follower of followers.values()) follower.stop();
    followers.clear();
    pending.clear();
    clearInterval(heartbeat);
    slot.release();
  });
}

function notFound(): HqmError {
  return new HqmError('HQM_ERR_NOT_FOUND', 'Request not found or expired');
}

function unavailable(cause: unknown): HqmError {
  if (isHqmError(cause)) return cause;
  return new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the result store is unavailable; subscribe again shortly', { cause });
}

function internal(cause: unknown): HqmError {
  return new HqmError('HQM_ERR_INTERNAL', 'an unexpected fault; the log has the details', { cause });
}

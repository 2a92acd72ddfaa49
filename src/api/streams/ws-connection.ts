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
import type { RawData, WebSocket } from 'ws';
import { HqmError, isHqmError } from '../../core/errors.js';
import { normalizeCorrelationId } from '../../core/request/ids.js';
import { mayView } from '../auth.js';
import type { RouteContext } from '../context.js';
import { streamOptions, type StreamOptions } from './options.js';
import type { StreamSlot } from './stream-hub.js';
import { TrailFollower, type TrailEnd } from './trail-follower.js';
import { errorMessage, parseClientMessage, refOf, type ClientMessage } from './ws-messages.js';

/** Submits one connection may have running at once before its socket stops being read. */
export const MAX_SUBMITS_IN_FLIGHT = 32;

/** RFC 6455 close codes. */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_TRY_AGAIN_LATER = 1013;

/** Runs one submit as POST /api/v1/submit would for this connection's client; answers the socket message. */
export type SubmitOverSocket = (body: Readonly<Record<string, unknown>>, idempotencyKey: string | undefined) => Promise<Readonly<Record<string, unknown>>>;

type Ref = string | number | undefined;

/** Serves `socket` until it closes; refuses it (1013) when `api.max_streams` are open. */
export function serveConnection(ctx: RouteContext, socket: WebSocket, request: FastifyRequest, submit: SubmitOverSocket): void {
  // The hub calls back only at shutdown, long after `connection` exists.
  const slot = ctx.streamHub.open(() => connection.shutDown(CLOSE_GOING_AWAY, 'the server is shutting down'));
  if (slot === undefined) {
    socket.close(CLOSE_TRY_AGAIN_LATER, 'too many live streams (api.max_streams); try again later');
    return;
  }
  const connection = new Connection(ctx, socket, request, submit, slot);
}

class Connection {
  readonly #options: StreamOptions;
  readonly #followers = new Map<string, TrailFollower>();
  /** Ids being looked up before they are followed; they count against the cap already. */
  readonly #pending = new Set<string>();
  readonly #heartbeat: NodeJS.Timeout;
  #submits = 0;
  #closed = false;
  #alive = true;

  constructor(
    private readonly ctx: RouteContext,
    private readonly socket: WebSocket,
    private readonly request: FastifyRequest,
    private readonly submit: SubmitOverSocket,
    private readonly slot: StreamSlot,
  ) {
    this.#options = streamOptions(ctx.options.streams);
    socket.on('message', this.#onMessage);
    socket.on('pong', () => (this.#alive = true));
    socket.on('close', () => this.#release());
    this.#heartbeat = setInterval(this.#beat, this.#options.heartbeatMs);
  }

  /** Closes the socket with `code`, dropping every subscription now. */
  shutDown(code: number, reason: string): void {
    if (this.#closed) return;
    this.#release();
    this.socket.close(code, reason);
  }

  #release(): void {
    this.#closed = true;
    for (const follower of this.#followers.values()) follower.stop();
    this.#followers.clear();
    this.#pending.clear();
    clearInterval(this.#heartbeat);
    this.slot.release();
  }

  #send(message: object): void {
    if (this.#closed || this.socket.readyState !== this.socket.OPEN) return;
    const limit = this.#options.wsMaxBufferedBytes;
    if (this.socket.bufferedAmount > limit) return this.shutDown(CLOSE_POLICY_VIOLATION, `slow consumer: more than ${limit} bytes unread (api.ws_max_buffered_bytes)`);
    this.socket.send(JSON.stringify(message));
  }

  /** Pings keep idle proxies from closing the socket and find peers gone without a FIN; followers re-read (D120). */
  readonly #beat = (): void => {
    if (!this.#alive) return this.socket.terminate();
    this.#alive = false;
    this.socket.ping();
    for (const follower of this.#followers.values()) follower.refresh();
  };

  readonly #onMessage = (data: RawData, isBinary: boolean): void => {
    if (this.#closed) return;
    let message: ClientMessage;
    try {
      message = parseClientMessage(data, isBinary);
    } catch (error) {
      return this.#send(errorMessage(isHqmError(error) ? error : internal(error), { ref: refOf(data) }));
    }
    const work = message.type === 'subscribe' ? this.#subscribe(message.ids, message.after ?? {}, message.ref) : message.type === 'unsubscribe' ? this.#unsubscribe(message.ids) : this.#submit(message);
    work.catch((error: unknown) => {
      this.request.log.error({ err: error }, 'websocket: a message failed unexpectedly');
      this.#send(errorMessage(internal(error), { ref: message.ref }));
    });
  };

  async #subscribe(given: readonly string[], after: Readonly<Record<string, number>>, ref: Ref): Promise<void> {
    const seen = new Map(Object.entries(after).map(([raw, seq]) => [normalizeCorrelationId(raw), seq] as const));
    const wanted = this.#reserve(given, ref);
    await Promise.all(wanted.map((id) => this.#lookUpAndFollow(id, seen.get(id) ?? 0, ref)));
  }

  /** The ids to look up, each counted against the cap; the others are answered at once. */
  #reserve(given: readonly string[], ref: Ref): string[] {
    const wanted: string[] = [];
    for (const raw of given) {
      const id = normalizeCorrelationId(raw);
      if (id === undefined) {
        this.#send(errorMessage(notFound(), { correlation_id: raw, ref }));
      } else if (this.#followers.has(id) || this.#pending.has(id)) {
        // Already followed: one subscription per id.
      } else if (this.#followers.size + this.#pending.size >= this.#options.wsMaxSubscriptions) {
        const cap = new HqmError('HQM_ERR_VALIDATION', `at most ${this.#options.wsMaxSubscriptions} subscriptions per connection (api.ws_max_subscriptions); unsubscribe first`);
        this.#send(errorMessage(cap, { correlation_id: id, ref }));
      } else {
        this.#pending.add(id);
        wanted.push(id);
      }
    }
    return wanted;
  }

  async #lookUpAndFollow(id: string, afterSeq: number, ref: Ref): Promise<void> {
    const record = await this.ctx.store.get(id).catch((error: unknown) => (isHqmError(error) ? error : unavailable(error)));
    // Unsubscribed or closed meanwhile: nothing to follow.
    if (!this.#pending.delete(id) || this.#closed) return;
    if (record instanceof HqmError) return this.#send(errorMessage(record, { correlation_id: id, ref }));
    // Another tenant's request is not there, as far as this client can tell.
    if (record === undefined || !mayView(this.request, record)) return this.#send(errorMessage(notFound(), { correlation_id: id, ref }));
    const follower = new TrailFollower(this.ctx, this.ctx.streamHub, id, afterSeq, {
      item: (item) => this.#send({ type: item.kind, ...item.data }),
      end: (end: TrailEnd) => {
        this.#followers.delete(id);
        if (end.reason === 'gone') this.#send(errorMessage(notFound(), { correlation_id: id }));
        if (end.reason === 'failed') this.#send(errorMessage(unavailable(end.error), { correlation_id: id }));
      },
    });
    this.#followers.set(id, follower);
    follower.start();
  }

  async #unsubscribe(given: readonly string[]): Promise<void> {
    for (const raw of given) {
      const id = normalizeCorrelationId(raw);
      if (id === undefined) continue;
      this.#pending.delete(id);
      this.#followers.get(id)?.stop();
      this.#followers.delete(id);
    }
  }

  async #submit(message: Extract<ClientMessage, { type: 'submit' }>): Promise<void> {
    this.#submits += 1;
    if (this.#submits >= MAX_SUBMITS_IN_FLIGHT) this.socket.pause();
    try {
      const answer = await this.submit(message.request, message.idempotency_key);
      this.#send({ ...answer, ...(message.ref === undefined ? {} : { ref: message.ref }) });
    } finally {
      this.#submits -= 1;
      if (this.socket.isPaused && this.#submits < MAX_SUBMITS_IN_FLIGHT && !this.#closed) this.socket.resume();
    }
  }
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

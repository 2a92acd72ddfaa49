/**
 * The OpenHQM client: one method per thing a caller does with a request, each one HTTP call
 * (or one stream) of the API that curl would make, so the README's curl lines and these calls
 * say the same thing. Answers are the server's JSON bodies, typed (types.ts); an error answer is
 * an `OpenHqmError` carrying the server's `code`.
 *
 * @example
 * const hqm = new OpenHqmClient({ baseUrl: 'http://localhost:8000', credential: { apiKey: key } });
 * const { correlation_id } = await hqm.submit({ payload: { operation: 'uppercase', data: 'hi' } });
 * const done = await hqm.waitFor(correlation_id);   // SSE, or long-polls where SSE cannot pass
 *
 * @module
 */
import { OpenHqmError } from './errors.js';
import { Http, type HttpOptions } from './http.js';
import { delay, followTrail, type StreamOptions } from './stream.js';
import { isTerminal, type BatchItem, type RequestBody, type ResultBody, type StatusBody, type StreamEvent, type SubmitAccepted, type SubmitRequest } from './types.js';

export interface ClientOptions extends HttpOptions {
  /** Seconds each long-poll asks the server to hold (it caps them at api.max_wait_seconds). Default 30. */
  readonly longPollSeconds?: number;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface SubmitOptions extends CallOptions {
  /** Makes a retried submit safe: the same key and body answer the first submit again. */
  readonly idempotencyKey?: string;
  /** Seconds to wait for the result in the same call (`?wait=N`). */
  readonly wait?: number;
}

export interface Submitted {
  readonly correlation_id: string;
  readonly status: SubmitAccepted['status'];
  /** On a 202; a finished request answered with its result has none. */
  readonly submitted_at?: string;
  /** The Idempotency-Key matched an earlier submit: this is that request, and nothing new was queued. */
  readonly replayed: boolean;
  /** The result, when the server answered with it: a `wait` that finished in time, or a replay of a finished request. */
  readonly result?: ResultBody;
}

export interface BatchSubmitted {
  readonly requests: readonly BatchItem[];
  readonly replayed: boolean;
}

export interface ResultOptions extends CallOptions {
  /** Long-poll: seconds the server may hold the call until the request ends. */
  readonly wait?: number;
}

export interface WaitOptions extends CallOptions {
  /** `sse` (falling back to `poll` where a stream cannot be had) by default; `poll` long-polls only. */
  readonly via?: 'sse' | 'poll';
}

const DEFAULT_LONG_POLL_SECONDS = 30;

export class OpenHqmClient {
  readonly #http: Http;
  readonly #longPollSeconds: number;

  constructor(options: ClientOptions) {
    this.#http = new Http(options);
    this.#longPollSeconds = options.longPollSeconds ?? DEFAULT_LONG_POLL_SECONDS;
  }

  /** `POST /api/v1/submit`: queues a request (202), or with `wait` may answer with its result. */
  async submit(request: SubmitRequest, options: SubmitOptions = {}): Promise<Submitted> {
    const answer = await this.#http.json<SubmitAccepted | ResultBody>({
      method: 'POST',
      path: `/api/v1/submit${waitQuery(options.wait)}`,
      body: request,
      headers: idempotencyHeader(options.idempotencyKey),
      signal: options.signal,
    });
    const replayed = answer.headers.get('idempotent-replayed') === 'true';
    const body = answer.body;
    if (answer.status === 200) return { correlation_id: body.correlation_id, status: body.status, replayed, result: body as ResultBody };
    const accepted = body as SubmitAccepted;
    return { correlation_id: accepted.correlation_id, status: accepted.status, submitted_at: accepted.submitted_at, replayed };
  }

  /** `POST /api/v1/submit/batch`: all or nothing; the answer lists the requests in order. */
  async submitBatch(requests: readonly SubmitRequest[], options: Omit<SubmitOptions, 'wait'> = {}): Promise<BatchSubmitted> {
    const answer = await this.#http.json<{ requests: BatchItem[] }>({
      method: 'POST',
      path: '/api/v1/submit/batch',
      body: { requests },
      headers: idempotencyHeader(options.idempotencyKey),
      signal: options.signal,
    });
    return { requests: answer.body.requests, replayed: answer.headers.get('idempotent-replayed') === 'true' };
  }

  /** `GET /api/v1/status/{id}`. */
  async status(id: string, options: CallOptions = {}): Promise<StatusBody> {
    return (await this.#http.json<StatusBody>({ method: 'GET', path: `/api/v1/status/${encodeURIComponent(id)}`, signal: options.signal })).body;
  }

  /**
   * `GET /api/v1/response/{id}`: the result once the request ended; before that the same body
   * with its current status and a null result. `wait` long-polls up to that many seconds.
   */
  async result(id: string, options: ResultOptions = {}): Promise<ResultBody> {
    return (await this.#resultAnswer(id, options.wait, options.signal)).body;
  }

  /**
   * Resolves with the result once the request ended (COMPLETED, FAILED, TIMEOUT or CANCELLED —
   * look at `status`). Follows the Server-Sent Events stream; where none can be had (a proxy
   * that buffers or strips it, the server's stream limit, a connection that keeps dropping) it
   * long-polls instead. An unknown id, a refused credential or the signal end it with an error.
   */
  async waitFor(id: string, options: WaitOptions = {}): Promise<ResultBody> {
    if (options.via !== 'poll') {
      try {
        for await (const event of this.stream(id, { signal: options.signal })) {
          if (event.type === 'result') return event.data;
        }
      } catch (error) {
        if (!streamUnavailable(error) || options.signal?.aborted === true) throw error;
      }
    }
    return this.#poll(id, options.signal);
  }

  /** `DELETE /api/v1/requests/{id}`: the request, now CANCELLED; 409 HQM_ERR_ALREADY_FINISHED when it had ended. */
  async cancel(id: string, options: CallOptions = {}): Promise<RequestBody> {
    return (await this.#http.json<RequestBody>({ method: 'DELETE', path: `/api/v1/requests/${encodeURIComponent(id)}`, signal: options.signal })).body;
  }

  /**
   * The request's live trail (`GET /api/v1/requests/{id}/events`, Server-Sent Events): every
   * past entry, then each new one, progress, and last the `result`, after which it ends.
   * Leaving the loop early closes the connection.
   */
  stream(id: string, options: StreamOptions = {}): AsyncIterable<StreamEvent> {
    return followTrail(this.#http, id, options);
  }

  async #poll(id: string, signal: AbortSignal | undefined): Promise<ResultBody> {
    for (;;) {
      const started = Date.now();
      const answer = await this.#resultAnswer(id, this.#longPollSeconds, signal);
      if (isTerminal(answer.body.status)) return answer.body;
      // A server past api.max_waiters answers at once: Retry-After keeps this from spinning.
      if (Date.now() - started < 1000) await delay(retryAfterMs(answer.headers.get('retry-after')), signal);
    }
  }

  #resultAnswer(id: string, wait: number | undefined, signal: AbortSignal | undefined) {
    return this.#http.json<ResultBody>({ method: 'GET', path: `/api/v1/response/${encodeURIComponent(id)}${waitQuery(wait)}`, signal });
  }
}

function waitQuery(wait: number | undefined): string {
  return wait === undefined || wait <= 0 ? '' : `?wait=${wait}`;
}

/** The 202's Retry-After (seconds, the server's form), at least one second; one second when absent or unreadable. */
function retryAfterMs(header: string | null): number {
  const seconds = Number(header);
  return Math.max(1, Number.isFinite(seconds) ? seconds : 1) * 1000;
}

function idempotencyHeader(key: string | undefined): Record<string, string> {
  return key === undefined ? {} : { 'idempotency-key': key };
}

/**
 * Whether a failed stream leaves long-polling worth trying: the server refused the stream
 * itself (503 past api.max_streams, a 5xx of a proxy, an answer that is not an event stream)
 * or it kept dropping. A 4xx about the request or the caller (404, 401, 403, 422) would be the
 * same for a poll, and a network error as likely.
 */
function streamUnavailable(error: unknown): boolean {
  if (!(error instanceof OpenHqmError)) return false;
  if (error.code === 'HQM_CLIENT_BAD_RESPONSE' || error.code === 'HQM_CLIENT_STREAM_ENDED') return true;
  return error.status >= 500 || error.status === 406;
}

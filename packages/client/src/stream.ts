/**
 * Following one request's live trail: `GET /api/v1/requests/{id}/events` with
 * `Accept: text/event-stream`, parsed by hand (sse.ts), as an async iterator that ends with the
 * `result` event. A connection that ends before the result (a proxy's idle timeout, a restart
 * of the API process) is reopened with `Last-Event-ID`, which the server resumes without
 * repeats; a few reopenings in a row that bring nothing new end it with HQM_CLIENT_STREAM_ENDED.
 *
 * @module
 */
import { errorFromAnswer, OpenHqmError, parseJson } from './errors.js';
import type { Http } from './http.js';
import { SseParser, type SseEvent } from './sse.js';
import type { StreamEvent } from './types.js';

export interface StreamOptions {
  readonly signal?: AbortSignal;
  /** Resume after this event id (a sequence number), as a reconnecting EventSource does. */
  readonly lastEventId?: string;
}

/** Reopenings in a row that brought no event before giving up. */
const MAX_FRUITLESS_REOPENS = 3;
/** Wait before reopening: this times the number of fruitless reopenings so far. */
const REOPEN_DELAY_MS = 250;

export async function* followTrail(http: Http, id: string, options: StreamOptions = {}): AsyncGenerator<StreamEvent, void, undefined> {
  let lastId = options.lastEventId ?? '';
  let fruitless = 0;
  for (;;) {
    const connection: Connection = { parser: new SseParser(lastId), nothingMore: false };
    let seen = 0;
    let failure: unknown;
    try {
      for await (const event of openStream(http, id, connection, options.signal)) {
        const item = toStreamEvent(event);
        if (item === undefined) continue;
        seen += 1;
        yield item;
        if (item.type === 'result') return;
      }
      // 204: the result was already seen (Last-Event-ID: result); nothing more will come.
      if (connection.nothingMore) return;
    } catch (error) {
      // Refusals (404, 401, 503…) and an abort are the caller's to see; a dropped connection is ours to reopen.
      if (error instanceof OpenHqmError || options.signal?.aborted === true) throw error;
      failure = error;
    }
    lastId = connection.parser.lastEventId;
    fruitless = seen > 0 ? 0 : fruitless + 1;
    if (fruitless >= MAX_FRUITLESS_REOPENS) {
      throw new OpenHqmError(`the event stream of ${id} kept ending before its result`, { status: 0, code: 'HQM_CLIENT_STREAM_ENDED', detail: null, cause: failure });
    }
    await delay(REOPEN_DELAY_MS * fruitless, options.signal);
  }
}

/** One connection's parser (which keeps the last event id), and whether it was told there is nothing more (204). */
interface Connection {
  readonly parser: SseParser;
  nothingMore: boolean;
}

async function* openStream(http: Http, id: string, connection: Connection, signal: AbortSignal | undefined): AsyncGenerator<SseEvent, void, undefined> {
  // Our own controller: leaving the loop early (break, return) must close the connection.
  const controller = new AbortController();
  const abort = (): void => controller.abort(signal?.reason);
  if (signal?.aborted === true) abort();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-cache' };
    const { parser } = connection;
    if (parser.lastEventId !== '') headers['last-event-id'] = parser.lastEventId;
    const response = await http.send({ method: 'GET', path: `/api/v1/requests/${encodeURIComponent(id)}/events`, headers, signal: controller.signal });
    if (response.status === 204) {
      connection.nothingMore = true;
      return;
    }
    if (!response.ok) throw errorFromAnswer(response.status, await response.text(), response.headers.get('retry-after'));
    const type = response.headers.get('content-type') ?? '';
    if (!type.toLowerCase().startsWith('text/event-stream') || response.body === null) {
      await response.body?.cancel();
      throw new OpenHqmError(`expected an event stream, got ${type === '' ? 'no content type' : type}`, { status: response.status, code: 'HQM_CLIENT_BAD_RESPONSE', detail: null });
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
  } finally {
    signal?.removeEventListener('abort', abort);
    controller.abort();
  }
}

function toStreamEvent(event: SseEvent): StreamEvent | undefined {
  const data = parseJson(event.data);
  if (typeof data !== 'object' || data === null) return undefined;
  switch (event.type) {
    case 'status':
    case 'note':
      return { type: event.type, id: event.id, data } as StreamEvent;
    case 'progress':
      return { type: 'progress', data } as StreamEvent;
    case 'result':
      return { type: 'result', id: event.id, data } as StreamEvent;
    default:
      // A kind of event this client does not know yet: skipped, as EventSource would.
      return undefined;
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

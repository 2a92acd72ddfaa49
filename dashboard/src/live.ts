/**
 * Server-Sent Events from the API with the operator's credential. The browser's EventSource
 * cannot send an Authorization header (and a credential must not ride in the URL), so the
 * `eventsource` package — the WHATWG EventSource over fetch — is given a fetch that adds it.
 * It reconnects by itself after a dropped connection, with Last-Event-ID; an HTTP refusal
 * (401, 403, 503 past api.max_streams) ends the stream, and the refusal's body is handed over
 * so the page can say what the server said.
 *
 * @module
 */
import { EventSource, type FetchLike } from 'eventsource';
import { toApiError, type Api, type ApiError } from './api.js';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface StreamHandlers {
  readonly onEvent: (type: string, data: unknown) => void;
  readonly onState?: (state: LiveState) => void;
  /** The stream was refused or ended by an HTTP answer other than 200. */
  readonly onRefused?: (error: ApiError) => void;
}

export interface StreamOptions {
  /** Event types to listen for. */
  readonly types: readonly string[];
  /** Last-Event-ID of the first connection (entries the page already shows); reconnects send their own. */
  readonly lastEventId?: string;
}

/** Opens the stream of `path` (relative to the API base); returns the function that closes it. */
export function openStream(api: Api, path: string, options: StreamOptions, handlers: StreamHandlers): () => void {
  let refusal: ApiError | undefined;
  let connections = 0;
  const withCredential: FetchLike = async (url, init) => {
    connections += 1;
    const headers: Record<string, string> = { ...init.headers, ...api.authHeaders() };
    // EventSource sends its own Last-Event-ID when it reconnects; only the first connection needs ours.
    if (connections === 1 && options.lastEventId !== undefined) headers['last-event-id'] ??= options.lastEventId;
    const res = await fetch(url, { ...init, headers });
    if (res.status !== 200 && res.status !== 204) {
      const body: unknown = await res
        .clone()
        .json()
        .catch(() => null);
      refusal = toApiError(res.status, body, `the stream was refused (${res.status})`);
    }
    return res;
  };
  const source = new EventSource(api.url(path), { fetch: withCredential });
  const state = (s: LiveState): void => handlers.onState?.(s);
  state('connecting');
  source.addEventListener('open', () => state('live'));
  source.addEventListener('error', () => {
    if (source.readyState !== EventSource.CLOSED) return state('reconnecting');
    state('closed');
    if (refusal !== undefined) handlers.onRefused?.(refusal);
  });
  for (const type of options.types) {
    source.addEventListener(type, (event) => {
      let data: unknown;
      try {
        data = JSON.parse(String(event.data)) as unknown;
      } catch {
        return; // Not an event of ours.
      }
      handlers.onEvent(type, data);
    });
  }
  return () => {
    source.close();
  };
}

/** The bounds of live streams (docs/configuration.md, `api.max_streams` and the `api.ws_*` keys). */
import { DEFAULT_MAX_STREAMS } from './stream-hub.js';

export interface StreamOptions {
  /** Most SSE streams and WebSocket connections open at once in one process (`api.max_streams`). */
  readonly maxStreams: number;
  /** How often an SSE stream sends a comment line so proxies do not close it as idle (`api.sse_heartbeat_seconds`). */
  readonly heartbeatMs: number;
  /** Most requests one WebSocket connection may follow at once (`api.ws_max_subscriptions`). */
  readonly wsMaxSubscriptions: number;
  /** A WebSocket client that leaves more than this unread is closed with 1008 (`api.ws_max_buffered_bytes`). */
  readonly wsMaxBufferedBytes: number;
  /** How often the live queue table (GET /api/v1/queues as SSE) is read and sent (`api.queues_stream_interval_seconds`). */
  readonly queuesIntervalMs: number;
}

export const DEFAULT_STREAM_OPTIONS: StreamOptions = {
  maxStreams: DEFAULT_MAX_STREAMS,
  heartbeatMs: 15_000,
  wsMaxSubscriptions: 1000,
  wsMaxBufferedBytes: 1024 * 1024,
  queuesIntervalMs: 2000,
};

export function streamOptions(given: Partial<StreamOptions> | undefined): StreamOptions {
  return { ...DEFAULT_STREAM_OPTIONS, ...given };
}

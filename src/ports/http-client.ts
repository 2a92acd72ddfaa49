/**
 * HttpClient: how the proxy reaches upstream HTTP applications. The contract:
 *
 * - `send` resolves with whatever status the upstream answered (a 500 is an answer, not an
 *   error) and the whole body, up to `maxResponseBytes`.
 * - It rejects with an `HqmError`: HQM_ERR_UPSTREAM_UNREACHABLE (connection refused, reset,
 *   DNS), HQM_ERR_UPSTREAM_TIMEOUT (no complete answer within `timeoutMs`),
 *   HQM_ERR_UPSTREAM_RESPONSE_TOO_LARGE; or with the signal's reason when `signal` aborts.
 * - Connections are pooled and reused across calls; `close` ends them.
 *
 * @module
 */

export interface OutboundHttpRequest {
  readonly method: string;
  readonly url: string;
  /** Header names in any case; each value one string. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | string | null;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly signal?: AbortSignal;
}

export interface InboundHttpResponse {
  readonly status: number;
  /** Lower-case names; a repeated header is joined with ", " (set-cookie with "\n"). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface HttpClient {
  send(request: OutboundHttpRequest): Promise<InboundHttpResponse>;
  close(): Promise<void>;
}

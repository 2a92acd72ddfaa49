/**
 * WebhookSender: how a webhook leaves the process. Kept apart from HttpClient (the proxy's) on
 * purpose: a webhook goes to a URL a client chose, so its connections are checked against the
 * SSRF policy at connect time, it follows no redirect, and the receiver's answer is read up to a
 * small cap and thrown away (a 2xx with a large body is still a delivery). The contract:
 *
 * - `post` resolves with the receiver's status and `Retry-After` whatever the status (a 500 is
 *   an answer, not an error).
 * - It rejects with an `HqmError`: HQM_ERR_UPSTREAM_UNREACHABLE (connection refused, reset,
 *   DNS), HQM_ERR_UPSTREAM_TIMEOUT (no answer within `timeoutMs`), HQM_ERR_WEBHOOK_REFUSED (the
 *   connection reached an address the policy refuses; nothing was sent).
 *
 * @module
 */

export interface WebhookPost {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
}

export interface WebhookAnswer {
  readonly status: number;
  readonly retryAfter: string | null;
}

export interface WebhookSender {
  post(request: WebhookPost): Promise<WebhookAnswer>;
  close(): Promise<void>;
}

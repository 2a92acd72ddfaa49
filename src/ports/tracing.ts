/**
 * Tracing: the spans the request path opens where a trace context has to travel — into the
 * envelope, to a processor, into an upstream's or a webhook receiver's `traceparent` header.
 * observability/tracing.ts implements it on the OpenTelemetry SDK and reads the rest (an
 * attempt's outcome, its queue wait) from the event bus, as metrics do. D200–D203.
 *
 * Off by default: then no implementation exists, every holder of this port has `undefined`,
 * and each call site is one `?.` — the SDK is not even loaded.
 *
 * Contexts are W3C `traceparent` strings: that is what the envelope, the webhook message and
 * HTTP headers carry, so no OpenTelemetry type leaks into the request path. A parent that is
 * null or not a valid traceparent starts a new trace.
 *
 * @module
 */

/** A span while it is open. */
export interface OpenSpan {
  /** This span's context, to write into a message or an outgoing header. */
  readonly traceparent: string;
  /** For log lines (`trace_id`, `span_id`). */
  readonly traceId: string;
  readonly spanId: string;
  /** Relates this span to another trace's context without making it a child (a replay and the request it brings back). */
  link(traceparent: string | null): void;
  /** Ends the span; `outcome` says what only the end knows. Ending twice is harmless. */
  end(outcome?: SpanOutcome): void;
}

export interface SpanOutcome {
  /** An HTTP status answered (by the API, an upstream or a webhook receiver). */
  readonly status?: number;
  /** What failed: the span's status becomes ERROR with its message, `error.type` its code. */
  readonly error?: unknown;
}

export interface Tracing {
  /** An HTTP request the API answers; `parent` is the client's `traceparent` header. */
  httpServer(at: { readonly method: string; readonly route: string | undefined; readonly parent: string | null }): OpenSpan;
  /** A request stored and queued (submit, batch item, capture, follow-up): its context goes into the envelope. */
  publish(at: { readonly id: string; readonly queue: string; readonly parent: string | null }): OpenSpan;
  /**
   * One attempt, from its claim to its stored outcome; `parent` is the envelope's context.
   * `queuedAt` (epoch ms) is when the request was last put in the queue by a client or an
   * operator (its submission, a delayed one's due time, a replay), for the queue wait.
   */
  attempt(at: { readonly id: string; readonly queue: string; readonly attempt: number; readonly parent: string | null; readonly workerId: string; readonly queuedAt: number }): OpenSpan;
  /** One call of the proxy to an upstream; `endpoint` is the configured name (or the URL's origin). */
  upstream(at: { readonly method: string; readonly url: string; readonly endpoint: string; readonly attempt: number; readonly parent: string | null }): OpenSpan;
  /** One attempt to deliver a webhook. */
  webhook(at: { readonly url: string; readonly event: string; readonly webhookId: string; readonly attempt: number; readonly parent: string | null }): OpenSpan;
}

/**
 * Forwards one request to its upstream and turns the answer into a result: builds the call
 * (endpoint, method, headers, body — or the captured request replayed as it came), passes the
 * endpoint's guard, sends it over the injected HttpClient, and classifies the answer:
 *
 * - a status in `retryOn` (5xx, 429) before the last attempt: retryable, honouring Retry-After;
 * - a status in `failOn`: the request fails, keeping the answer;
 * - anything else (including a retried status on the last attempt): relayed as the result.
 *
 * @module
 */
import { DeferralError, HqmError, UpstreamStatusError, isHqmError, type UpstreamAnswer } from '../core/errors.js';
import type { HqmEvents } from '../core/events.js';
import { rawBody, rawBytes } from '../core/http.js';
import type { Envelope } from '../core/request/envelope.js';
import { safePath } from '../core/request/target.js';
import { validTraceparent } from '../core/trace-context.js';
import type { HttpClient, OutboundHttpRequest } from '../ports/http-client.js';
import type { Tracing } from '../ports/tracing.js';
import type { EndpointCatalogue, EndpointSpec, ProxyPolicy } from './endpoints.js';
import { inboundHeaders, outboundHeaders } from './headers.js';
import { EndpointGuard } from './protection/guard.js';
import type { Router, RoutingResult } from '../routing/router.js';
import { interpretBody, retryAfterMs } from './response.js';
import { inRanges } from './status-ranges.js';

export interface ForwardContext {
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly signal: AbortSignal;
  /** The attempt's trace context (the processor context's); the envelope's when absent. */
  readonly traceparent?: string | null;
}

export interface ForwarderDeps {
  readonly http: HttpClient;
  readonly endpoints: EndpointCatalogue;
  readonly policy: ProxyPolicy;
  readonly events: HqmEvents;
  /** The routes in force, when routing is enabled (read per request: they may be reloaded). */
  readonly routes?: () => Router;
  /** Opens a span per upstream call, whose context the call's traceparent header carries; undefined while tracing is off. */
  readonly tracing?: Tracing;
}

const BODYLESS = new Set(['GET', 'HEAD']);

export class Forwarder {
  readonly #guards = new Map<string, EndpointGuard>();

  constructor(private readonly deps: ForwarderDeps) {}

  async forward(envelope: Envelope, ctx: ForwardContext): Promise<UpstreamAnswer> {
    const routed = this.deps.routes === undefined ? undefined : await this.deps.routes().route(envelope as unknown as Record<string, unknown>);
    const endpoint = routed === undefined ? this.deps.endpoints.resolve(envelope.metadata.endpoint) : this.deps.endpoints.resolveTarget(routed.endpoint);
    const call = this.#call(envelope, endpoint, ctx, routed);
    // A route may allow fewer attempts than the worker (never more): its last one is final.
    const lastAttempt = routed?.max_retries === null || routed?.max_retries === undefined ? ctx.maxAttempts : Math.min(ctx.maxAttempts, routed.max_retries + 1);
    const final = ctx.attempt >= lastAttempt;
    try {
      return await this.#send(envelope, endpoint, call, ctx, final);
    } catch (error) {
      if (final && isHqmError(error) && error.retryable && !(error instanceof DeferralError)) {
        throw new HqmError(error.code, error.message, { cause: error, details: error.details, retryable: false });
      }
      throw error;
    }
  }

  async #send(envelope: Envelope, endpoint: EndpointSpec, call: Omit<OutboundHttpRequest, 'signal'>, ctx: ForwardContext, final: boolean): Promise<UpstreamAnswer> {
    const pass = await this.#guard(endpoint).enter(ctx.signal);
    // Opened once the guard lets the call go: the span is the call, not the wait for a slot.
    const span = this.deps.tracing?.upstream({ method: call.method, url: call.url, endpoint: endpoint.name, attempt: ctx.attempt, parent: ctx.traceparent ?? envelope.traceparent });
    const started = performance.now();
    const { events, policy } = this.deps;
    let response;
    try {
      // The upstream's spans become children of this call's, whatever traceparent a captured request carried.
      response = await this.deps.http.send({ ...call, ...(span === undefined ? {} : { headers: { ...call.headers, traceparent: span.traceparent } }), signal: ctx.signal });
    } catch (error) {
      span?.end({ error });
      const durationMs = performance.now() - started;
      // A deadline, a shutdown or a request the client refused to send is not the endpoint's
      // fault; an oversized answer is still an answer.
      const code = isHqmError(error) ? error.code : undefined;
      pass.done(ctx.signal.aborted || code === 'HQM_ERR_UPSTREAM_REQUEST_INVALID' ? 'unknown' : code === 'HQM_ERR_UPSTREAM_RESPONSE_TOO_LARGE');
      events.emit('upstream:error', { endpoint: endpoint.name, code: isHqmError(error) ? error.code : 'HQM_ERR_INTERNAL', durationMs });
      throw error;
    }
    const status = response.status;
    span?.end({ status });
    pass.done(status < 500 && status !== 429);
    events.emit('upstream:response', { endpoint: endpoint.name, status, durationMs: performance.now() - started });
    const answer: UpstreamAnswer = {
      result: interpretBody(response.headers['content-type'] ?? '', response.body),
      statusCode: status,
      headers: inboundHeaders(response.headers),
      body: envelope.request === null ? null : rawBody(response.body),
    };
    if (inRanges(status, policy.retryOn) && !final) {
      throw new UpstreamStatusError(answer, retryAfterMs(response.headers['retry-after']), false, endpoint.name);
    }
    if (inRanges(status, policy.failOn)) throw new UpstreamStatusError(answer, null, true, endpoint.name);
    return answer;
  }

  #call(envelope: Envelope, endpoint: EndpointSpec, ctx: ForwardContext, routed: RoutingResult | undefined): Omit<OutboundHttpRequest, 'signal'> {
    const { policy } = this.deps;
    const captured = envelope.request;
    const common = { allow: policy.forwardHeaders, strip: policy.stripHeaders, endpoint: endpoint.headers, auth: endpoint.auth, mapped: routed?.headers, forwarding: envelope.forwarding };
    let method: string;
    let url: string;
    let headers: Record<string, string>;
    let body: Uint8Array | string | null;
    if (captured !== null) {
      method = captured.method.toUpperCase();
      url = joinUrl(endpoint.url, captured.path, captured.query);
      headers = outboundHeaders({ ...common, forwarded: captured.headers, forwardAll: true });
      body = captured.body === '' ? null : rawBytes({ data: captured.body, encoding: captured.body_encoding });
    } else {
      method = (routed?.method ?? envelope.metadata.method ?? endpoint.method).toUpperCase();
      url = endpoint.url;
      headers = outboundHeaders({ ...common, forwarded: envelope.headers, forwardAll: false });
      body = BODYLESS.has(method) ? null : JSON.stringify(routed === undefined ? envelope.payload : routed.payload);
      if (body !== null) headers['content-type'] ??= 'application/json';
    }
    const tenantHeader = policy.tenantHeader;
    if (tenantHeader !== undefined) {
      // Only OpenHQM says which tenant a request is from: a client could write anything here.
      delete headers[tenantHeader];
      if (envelope.tenant !== undefined && envelope.tenant !== null) headers[tenantHeader] = envelope.tenant;
    }
    // What the upstream needs to de-duplicate at-least-once delivery and to join the trace.
    headers['x-correlation-id'] = envelope.correlation_id;
    headers['x-openhqm-attempt'] = String(ctx.attempt);
    headers['idempotency-key'] ??= envelope.correlation_id;
    // An outside producer's envelope may carry anything there: only a valid context is sent on.
    const traceparent = ctx.traceparent === undefined ? validTraceparent(envelope.traceparent) : ctx.traceparent;
    if (traceparent !== null) headers.traceparent ??= traceparent;
    const timeoutMs = routed?.timeout === null || routed?.timeout === undefined ? endpoint.timeoutMs : routed.timeout * 1000;
    return { method, url: withQuery(url, routed?.query_params), headers, body, timeoutMs, maxResponseBytes: policy.maxResponseBytes };
  }

  #guard(endpoint: EndpointSpec): EndpointGuard {
    let guard = this.#guards.get(endpoint.name);
    if (guard === undefined) {
      guard = new EndpointGuard(endpoint, (state) => this.deps.events.emit('circuit:changed', { endpoint: endpoint.name, state }));
      this.#guards.set(endpoint.name, guard);
    }
    return guard;
  }
}

/** Adds a route's query parameters to a URL (they replace ones of the same name). */
function withQuery(url: string, params: Readonly<Record<string, string>> | undefined): string {
  if (params === undefined || Object.keys(params).length === 0) return url;
  const target = new URL(url);
  for (const [name, value] of Object.entries(params)) target.searchParams.set(name, value);
  return target.toString();
}

/**
 * The captured path and query appended to the endpoint URL's own path and query. The path is
 * checked again here, not only at the API: an outside producer can queue a captured request
 * without passing it. The parsed result must still lie under the base path.
 */
export function joinUrl(base: string, path: string, query: string): string {
  const url = new URL(base);
  const basePath = url.pathname.replace(/\/+$/, '');
  url.pathname = `${basePath}${safePath(path)}`;
  if (url.pathname !== basePath && !url.pathname.startsWith(`${basePath}/`)) {
    throw new HqmError('HQM_ERR_UNSAFE_PATH', `the path leaves the endpoint's base path: ${JSON.stringify(path)}`);
  }
  // The endpoint's own query (a key the upstream wants on every call) comes first, then the client's.
  const own = url.search.slice(1);
  url.search = [own, query].filter((part) => part !== '').join('&');
  return url.toString();
}

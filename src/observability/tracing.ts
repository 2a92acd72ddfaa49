/**
 * Every span OpenHQM makes, defined in one place (as metrics.ts defines every metric), on the
 * OpenTelemetry SDK, exported over OTLP/HTTP. Loaded only when tracing is on (the composition
 * root imports this module dynamically), so a gateway that traces nothing never loads the SDK.
 *
 * One request is one trace: `{METHOD} {route}` (the API's HTTP span, a child of the client's
 * traceparent) → `send {queue}` (stored and queued; its context rides in the envelope) → for
 * each attempt, in whichever worker process: `wait {queue}` (first attempt: the time in the
 * queue) and `process {queue}` → `{METHOD} {endpoint}` (the proxy's upstream call, whose
 * traceparent header names it) and, once the request ends, `webhook {event}` per delivery
 * attempt. Spans whose context travels are opened by the code that sends it (the Tracing port);
 * what happened in an attempt — its outcome, retry delay, queue wait — is read here from the
 * event bus, from the same events the metrics count. D200–D203.
 *
 * @module
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace, type Attributes, type Context, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type ReadableSpan, type Sampler, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_ERROR_TYPE, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_SERVICE_INSTANCE_ID, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION, ATTR_URL_FULL } from '@opentelemetry/semantic-conventions';
import type { HqmEvents } from '../core/events.js';
import { formatTraceparent, parseTraceparent } from '../core/trace-context.js';

// Messaging attributes are still incubating in the semantic conventions; the package asks
// users to copy them rather than import the incubating entry point.
const ATTR_MESSAGING_SYSTEM = 'messaging.system';
const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';
/** OpenHQM's own attributes. */
const ATTR = {
  correlationId: 'openhqm.correlation_id',
  attempt: 'openhqm.attempt',
  workerId: 'openhqm.worker.id',
  outcome: 'openhqm.outcome',
  retryDelay: 'openhqm.retry.delay_ms',
  deferReason: 'openhqm.defer.reason',
  endpoint: 'openhqm.endpoint',
  webhookId: 'openhqm.webhook.id',
  webhookEvent: 'openhqm.webhook.event',
} as const;

/** What startTracing needs: the settings config/tracing.ts resolved (structurally; observability imports no config). */
export interface TracingOptions {
  readonly endpoint: string;
  readonly protocol: 'http/protobuf' | 'http/json';
  readonly sampler: { readonly name: string; readonly ratio: number };
  readonly serviceName: string | null;
  readonly serviceVersion: string;
  /** service.instance.id: the worker id (host and pid unless configured). */
  readonly instanceId: string;
  /** Export failures are logged here (at most one line a minute). */
  readonly logger: { warn(fields: object, message?: string): void };
}

/** Spans of one process. Satisfies the Tracing port (ports/tracing.ts) structurally. */
export class OtelTracing {
  readonly #provider: BasicTracerProvider;
  readonly #tracer: Tracer;
  /** Attempts open in this process, by request and attempt: the events of an attempt annotate its span. */
  readonly #attempts = new Map<string, { span: Span; parent: Context; queue: string; queuedAt: number }>();

  constructor(provider: BasicTracerProvider, version: string) {
    this.#provider = provider;
    this.#tracer = provider.getTracer('openhqm', version);
  }

  httpServer(at: { method: string; route: string | undefined; parent: string | null }): SpanHandle {
    const attributes: Attributes = { [ATTR_HTTP_REQUEST_METHOD]: at.method, [ATTR_HTTP_ROUTE]: at.route };
    // No route (a 404): the method alone, as the HTTP conventions say; never the raw path.
    const name = at.route === undefined ? at.method : `${at.method} ${at.route}`;
    return new SpanHandle(this.#tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, contextOf(at.parent)), 500);
  }

  publish(at: { id: string; queue: string; parent: string | null }): SpanHandle {
    const attributes = { ...messaging('send', at.queue, at.id) };
    return new SpanHandle(this.#tracer.startSpan(`send ${at.queue}`, { kind: SpanKind.PRODUCER, attributes }, contextOf(at.parent)));
  }

  attempt(at: { id: string; queue: string; attempt: number; parent: string | null; workerId: string; queuedAt: number }): SpanHandle {
    const parent = contextOf(at.parent);
    const attributes = { ...messaging('process', at.queue, at.id), [ATTR.attempt]: at.attempt, [ATTR.workerId]: at.workerId };
    const span = this.#tracer.startSpan(`process ${at.queue}`, { kind: SpanKind.CONSUMER, attributes }, parent);
    const key = attemptKey(at.id, at.attempt);
    this.#attempts.set(key, { span, parent, queue: at.queue, queuedAt: at.queuedAt });
    return new SpanHandle(span, undefined, () => this.#attempts.delete(key));
  }

  upstream(at: { method: string; url: string; endpoint: string; attempt: number; parent: string | null }): SpanHandle {
    const attributes = { [ATTR_HTTP_REQUEST_METHOD]: at.method, ...urlAttributes(at.url), [ATTR.endpoint]: at.endpoint, [ATTR.attempt]: at.attempt };
    return new SpanHandle(this.#tracer.startSpan(`${at.method} ${at.endpoint}`, { kind: SpanKind.CLIENT, attributes }, contextOf(at.parent)), 400);
  }

  webhook(at: { url: string; event: string; webhookId: string; attempt: number; parent: string | null }): SpanHandle {
    const attributes = { [ATTR_HTTP_REQUEST_METHOD]: 'POST', ...urlAttributes(at.url), [ATTR.webhookEvent]: at.event, [ATTR.webhookId]: at.webhookId, [ATTR.attempt]: at.attempt };
    return new SpanHandle(this.#tracer.startSpan(`webhook ${at.event}`, { kind: SpanKind.CLIENT, attributes }, contextOf(at.parent)), 400);
  }

  /**
   * Reads what happened in each attempt from the worker's events: the queue wait before a first
   * attempt, and how each attempt ended (the same events openhqm_worker_* count).
   */
  observe(events: HqmEvents): void {
    events.on('request:claimed', ({ id, attempt, waitMs }) => {
      const open = this.#attempts.get(attemptKey(id, attempt));
      // A retry's wait is the gap between its attempts, already visible; a first attempt's is not.
      if (open === undefined || attempt !== 1) return;
      const now = Date.now();
      const since = Math.max(now - waitMs, open.queuedAt);
      const { queue } = open;
      // A Date, not a number: a number before this process started would be read as a performance.now() offset.
      this.#tracer.startSpan(`wait ${queue}`, { kind: SpanKind.INTERNAL, startTime: new Date(Math.min(since, now)), attributes: { [ATTR.correlationId]: id, [ATTR_MESSAGING_DESTINATION_NAME]: queue } }, open.parent).end(new Date(now));
    });
    const ended = (id: string, attempt: number, outcome: string, attributes: Attributes = {}, error?: Error): void => {
      const open = this.#attempts.get(attemptKey(id, attempt));
      if (open === undefined) return;
      open.span.setAttributes({ [ATTR.outcome]: outcome, ...attributes });
      if (error !== undefined) fail(open.span, error);
    };
    events.on('request:completed', ({ id, attempt }) => ended(id, attempt, 'completed'));
    events.on('request:retrying', ({ id, attempt, delayMs, error }) => ended(id, attempt, 'retry', { [ATTR.retryDelay]: delayMs }, error));
    events.on('request:failed', ({ id, attempt, error }) => ended(id, attempt, 'failed', {}, error));
    events.on('request:timeout', ({ id, attempt }) => ended(id, attempt, 'timeout', {}, Object.assign(new Error('the request deadline passed'), { code: 'HQM_ERR_DEADLINE_EXCEEDED' })));
    events.on('request:released', ({ id, attempt }) => ended(id, attempt, 'released'));
    events.on('request:deferred', ({ id, attempt, reason }) => ended(id, attempt, 'deferred', { [ATTR.deferReason]: reason }));
  }

  /** Exports what is buffered and stops; the last step of a shutdown. */
  async shutdown(): Promise<void> {
    await this.#provider.shutdown();
  }
}

/** An open span as the Tracing port hands it out. */
class SpanHandle {
  readonly traceparent: string;
  readonly traceId: string;
  readonly spanId: string;
  #ended = false;

  /** `errorFrom`: the lowest HTTP status that marks the span failed (500 for a server, 400 for a client; none for others). */
  constructor(
    private readonly span: Span,
    private readonly errorFrom?: number,
    private readonly onEnd?: () => void,
  ) {
    const context = span.spanContext();
    this.traceId = context.traceId;
    this.spanId = context.spanId;
    this.traceparent = formatTraceparent({ traceId: context.traceId, spanId: context.spanId, sampled: (context.traceFlags & 1) === 1 });
  }

  link(traceparent: string | null): void {
    const context = spanContextOf(traceparent);
    if (context !== undefined) this.span.addLink({ context });
  }

  end(outcome: { status?: number; error?: unknown } = {}): void {
    if (this.#ended) return;
    this.#ended = true;
    const { status, error } = outcome;
    if (status !== undefined) {
      this.span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      if (this.errorFrom !== undefined && status >= this.errorFrom && error === undefined) {
        this.span.setAttribute(ATTR_ERROR_TYPE, String(status));
        this.span.setStatus({ code: SpanStatusCode.ERROR });
      }
    }
    if (error !== undefined) fail(this.span, error);
    this.span.end();
    this.onEnd?.();
  }
}

/** Builds the SDK from the settings and starts exporting. */
export async function startTracing(options: TracingOptions): Promise<OtelTracing> {
  const exporter = options.protocol === 'http/json'
    ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url: options.endpoint })
    : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter({ url: options.endpoint });
  // OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (read by the SDK's detector) win over these defaults.
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: options.serviceName ?? 'openhqm',
    [ATTR_SERVICE_VERSION]: options.serviceVersion,
    [ATTR_SERVICE_INSTANCE_ID]: options.instanceId,
  }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new BasicTracerProvider({
    resource,
    sampler: samplerOf(options.sampler),
    // Batched (OTEL_BSP_* tune it): the request path only appends to a buffer.
    spanProcessors: [new BatchSpanProcessor(reporting(exporter, options.logger))],
  });
  return new OtelTracing(provider, options.serviceVersion);
}

function samplerOf(sampler: { name: string; ratio: number }): Sampler {
  switch (sampler.name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(sampler.ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampler.ratio) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

const EXPORT_WARNING_EVERY_MS = 60_000;

/** The exporter, with its failures logged: the SDK's own diagnostics go nowhere unless a global logger is set. */
function reporting(exporter: SpanExporter, logger: TracingOptions['logger']): SpanExporter {
  let warnedAt = -Infinity;
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
      exporter.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS && Date.now() - warnedAt >= EXPORT_WARNING_EVERY_MS) {
          warnedAt = Date.now();
          logger.warn({ err: result.error, spans: spans.length }, 'could not export traces to the OTLP endpoint; spans are dropped (next warning in a minute at the earliest)');
        }
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

function messaging(operation: 'send' | 'process', queue: string, id: string): Attributes {
  return { [ATTR_MESSAGING_SYSTEM]: 'openhqm', [ATTR_MESSAGING_OPERATION_TYPE]: operation, [ATTR_MESSAGING_DESTINATION_NAME]: queue, [ATTR_MESSAGING_MESSAGE_ID]: id, [ATTR.correlationId]: id };
}

/** Scheme, host, port and path: a query (and userinfo) may hold a credential. */
function urlAttributes(text: string): Attributes {
  try {
    const url = new URL(text);
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    return { [ATTR_URL_FULL]: `${url.origin}${url.pathname}`, [ATTR_SERVER_ADDRESS]: url.hostname, [ATTR_SERVER_PORT]: port };
  } catch {
    return {};
  }
}

function fail(span: Span, error: unknown): void {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  span.setAttribute(ATTR_ERROR_TYPE, typeof code === 'string' ? code : error instanceof Error ? error.name : 'error');
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

function attemptKey(id: string, attempt: number): string {
  return `${id}\0${attempt}`;
}

function spanContextOf(traceparent: string | null): SpanContext | undefined {
  const parsed = parseTraceparent(traceparent);
  if (parsed === undefined) return undefined;
  return { traceId: parsed.traceId, spanId: parsed.spanId, traceFlags: parsed.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, isRemote: true };
}

/** The parent context of a traceparent; the root context (a new trace) when there is none. */
function contextOf(traceparent: string | null): Context {
  const parent = spanContextOf(traceparent);
  return parent === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, parent);
}

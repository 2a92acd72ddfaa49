/**
 * The API's part of tracing: one server span per HTTP request (a child of the client's
 * `traceparent`), its ids on the request's log lines, and the context a request accepted by that
 * HTTP request carries into its envelope. Probes, /metrics, the docs, the dashboard's files, the
 * WebSocket upgrade and live SSE streams are not traced: they would fill a trace store with noise
 * (a WebSocket's or an event stream's span would last as long as its connection).
 *
 * @module
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import { validTraceparent } from '../core/trace-context.js';
import type { OpenSpan, Tracing } from '../ports/tracing.js';
import { wantsEventStream } from './streams/sse.js';

/** The open server span of each traced request. */
const spans = new WeakMap<FastifyRequest, OpenSpan>();

/** Registers the span hooks; first of all hooks, so a request refused early (401, 404, 503) is traced too. */
export function registerTracing(app: FastifyInstance, tracing: Tracing, prefix: string): void {
  const untraced = new RegExp(`^${escape(prefix)}/(health(/.*)?|metrics|openapi\\.json|docs(/.*)?|api/v1/ws|dashboard(/.*)?)$`);
  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url;
    if (route !== undefined && untraced.test(route)) return done();
    // A live event stream (the queue table, a request's events) is not traced: its span would last as long as the stream (D203).
    if (wantsEventStream(request)) return done();
    const span = tracing.httpServer({ method: request.method, route, parent: validTraceparent(request.headers.traceparent) });
    spans.set(request, span);
    request.log = lazyChild(request.log, { trace_id: span.traceId, span_id: span.spanId });
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    spans.get(request)?.end({ status: reply.statusCode });
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    spans.get(request)?.end({ error: new Error('the client closed the connection before the request was received') });
    done();
  });
}

/**
 * The trace context a request accepted through `request` carries in its envelope: the server
 * span's when tracing is on, else the client's own `traceparent` when it is a valid one (passed
 * through untouched to the worker and the upstream, as before tracing existed).
 */
export function traceparentOf(request: FastifyRequest): string | null {
  return spans.get(request)?.traceparent ?? validTraceparent(request.headers.traceparent);
}

/** The open server span of `request`; undefined when tracing is off or the route is not traced. */
export function spanOf(request: FastifyRequest): OpenSpan | undefined {
  return spans.get(request);
}

/**
 * A child logger made on first use: most requests log nothing (request logging is off), and a
 * pino child per request would be a cost of tracing on every submit.
 */
function lazyChild(parent: FastifyBaseLogger, bindings: Record<string, string>): FastifyBaseLogger {
  let child: FastifyBaseLogger | undefined;
  const get = (): FastifyBaseLogger => (child ??= parent.child(bindings));
  const at = (level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent') => (...args: unknown[]): void => {
    const logger = get();
    Reflect.apply(logger[level], logger, args);
  };
  return {
    get level() {
      return child?.level ?? parent.level;
    },
    set level(value) {
      get().level = value;
    },
    fatal: at('fatal'),
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    trace: at('trace'),
    silent: at('silent'),
    child: (more, options) => get().child(more, options),
  };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

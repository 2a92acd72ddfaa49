/**
 * `request.log`, made when a request first logs. Fastify builds a pino child per request
 * (`{reqId}` bound), and with the process logger's redaction paths pino serializes that binding
 * through its redaction and rebuilds its formatters each time: 1.5% of a submit's CPU for a
 * logger that almost no request uses (request logging is off; only errors log). This one holds
 * the parent and the bindings and makes the child on the first call that logs (D191).
 *
 * @module
 */
import type { FastifyBaseLogger } from 'fastify';

type Bindings = Record<string, unknown>;
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];
type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** Fastify's `childLoggerFactory`: a request's logger, deferred until it logs. */
export function lazyRequestLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildOptions): FastifyBaseLogger {
  // A route's own log level or serializers change what the child does: made at once then (none of ours sets them).
  if (options !== undefined && Object.keys(options).length > 0) return logger.child(bindings, options);
  return new LazyChild(logger, bindings);
}

class LazyChild {
  #made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
  ) {}

  get level(): string {
    return (this.#made ?? this.parent).level;
  }

  set level(value: string) {
    this.#child().level = value;
  }

  fatal(...args: unknown[]): void {
    this.#log('fatal', args);
  }

  error(...args: unknown[]): void {
    this.#log('error', args);
  }

  warn(...args: unknown[]): void {
    this.#log('warn', args);
  }

  info(...args: unknown[]): void {
    this.#log('info', args);
  }

  debug(...args: unknown[]): void {
    this.#log('debug', args);
  }

  trace(...args: unknown[]): void {
    this.#log('trace', args);
  }

  silent(): void {
    // Logs nothing, whatever the level.
  }

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.#child().child(bindings, options);
  }

  #log(level: Level, args: unknown[]): void {
    // pino sets a disabled level's method to the same no-op as `silent`: a debug line at level
    // info makes no child.
    const target = this.#made ?? (this.parent[level] === this.parent.silent ? undefined : this.#child());
    if (target !== undefined) Reflect.apply(target[level], target, args);
  }

  #child(): FastifyBaseLogger {
    this.#made ??= this.parent.child(this.bindings);
    return this.#made;
  }
}

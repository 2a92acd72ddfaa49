/**
 * The routing engine: compiles a routes file once (every regex, jq program, JSONPath,
 * template and JSONata expression) and routes messages: the first matching enabled route by
 * priority (highest first, file order among equals), then the default route, then — with
 * `enable_fallback` — the file's `default_endpoint` with the payload passed through.
 *
 * A broken route refuses the whole file (strict, the default), with one error per broken route.
 * Loaded with `strict: false`, the file is used anyway: a broken route whose match criteria
 * compile keeps its place and fails the messages it matches (HQM_ERR_ROUTES_INVALID, naming it);
 * one whose match criteria do not compile can match nothing and is left out. Either way each
 * broken route is reported once, in `warnings`.
 *
 * @module
 */
import { DeferralError, HqmError, isHqmError } from '../core/errors.js';
import { asText, getPath } from '../core/paths.js';
import { routingView } from '../core/request/envelope.js';
import { isHttpUrl } from '../core/http.js';
import { compileRoute } from './routes/compile.js';
import { matches, type Matcher } from './routes/match.js';
import { routesFileSchema, type RouteSpec, type RoutesFile } from './routes/schema.js';
import { TRAFFIC_JQ } from './transform/jq.js';
import { assertOutputWithin } from './transform/output-size.js';
import { DEFAULT_MAX_OUTPUT_BYTES, OutputTooLargeError, type JqRunner, type Transform, type TransformContext } from './transform/types.js';

/** The original's routing result, field for field. */
export interface RoutingResult {
  readonly route_name: string | null;
  readonly endpoint: string;
  /** The route's method override; null leaves it to the request or the endpoint. */
  readonly method: string | null;
  readonly payload: unknown;
  readonly headers: Record<string, string>;
  readonly query_params: Record<string, string>;
  readonly timeout: number | null;
  readonly max_retries: number | null;
}

interface CompiledRoute {
  readonly name: string;
  readonly matcher: Matcher;
  readonly priority: number;
  readonly isDefault: boolean;
  /** What the route does with a message it matches, or why it cannot (non-strict loading). */
  readonly target: { readonly spec: RouteSpec; readonly transform: Transform | null } | { readonly broken: string };
}

export interface RouteIssue {
  readonly route: string | null;
  readonly message: string;
}

/** The routes file cannot be used: `issues` names each broken route and why. */
export class RoutesError extends HqmError {
  constructor(readonly issues: readonly RouteIssue[]) {
    super('HQM_ERR_ROUTES_INVALID', `invalid routes (${issues.length}):\n${issues.map((i) => `  - ${i.route === null ? '(file)' : `route "${i.route}"`}: ${i.message}`).join('\n')}`, {
      details: { issues },
    });
    this.name = 'RoutesError';
  }
}

export interface CompileOptions {
  /** Whether an endpoint name or URL can be reached; unknown ones are errors or warnings. */
  readonly endpointKnown?: (endpoint: string) => boolean;
  readonly unknownEndpoint?: 'error' | 'warn';
  /** Refuse the whole file for one broken route (routing.strict; default true). */
  readonly strict?: boolean;
  /** routing.max_transform_output_bytes (default 1 MiB). */
  readonly maxTransformOutputBytes?: number;
  /** The jq threads that check programs at load and, by default, run them. */
  readonly jq?: JqRunner;
  /** The configured queue names a route's `queue` may name; absent: not checked (the worker's view). */
  readonly queues?: readonly string[];
}

export interface RouteOptions {
  /** jq threads to run this message's programs on (the simulator passes its own). */
  readonly jq?: JqRunner;
}

export class Router {
  private constructor(
    private readonly routes: readonly CompiledRoute[],
    private readonly defaultRoute: CompiledRoute | undefined,
    private readonly file: RoutesFile,
    private readonly context: TransformContext,
    /** Problems that did not stop compilation: unknown endpoints in warn mode, broken routes when not strict. */
    readonly warnings: readonly RouteIssue[],
  ) {}

  get size(): number {
    return this.routes.length + (this.defaultRoute === undefined ? 0 : 1);
  }

  /** Validates and compiles a routes file (already parsed from YAML or JSON). */
  static async compile(raw: unknown, options: CompileOptions = {}): Promise<Router> {
    const parsed = routesFileSchema.safeParse(raw);
    if (!parsed.success) {
      throw new RoutesError(parsed.error.issues.map((issue) => ({ route: null, message: `${issue.path.join('.') || 'the file'}: ${issue.message}` })));
    }
    const file = parsed.data;
    const strict = options.strict ?? true;
    const jq = options.jq ?? TRAFFIC_JQ;
    const issues: RouteIssue[] = [];
    const warnings: RouteIssue[] = [];
    const names = new Set<string>();
    const compiled: CompiledRoute[] = [];
    // Counted from what the file says, broken routes included, so every problem shows at once.
    const defaultNames: string[] = [];
    for (const [index, raw] of file.routes.entries()) {
      const parts = await compileRoute(raw, index, jq);
      if (names.has(parts.name)) parts.problems.push('the name is used by another route');
      names.add(parts.name);
      if (parts.isDefault && parts.enabled) defaultNames.push(parts.name);
      if (parts.enabled && parts.endpoint !== undefined) checkEndpoint(parts.endpoint, parts.name, options, parts.problems, warnings);
      if (parts.enabled) checkQueue(parts.queue, options, parts.problems);
      if (parts.problems.length === 0 && parts.matcher !== undefined && parts.target !== undefined) {
        compiled.push({ name: parts.name, matcher: parts.matcher, priority: parts.priority, isDefault: parts.isDefault, target: parts.target });
        continue;
      }
      for (const message of parts.problems) issues.push({ route: parts.name, message });
      if (strict || !parts.enabled) continue;
      const problem = parts.problems.join('; ');
      if (parts.matcher === undefined) {
        warnings.push({ route: parts.name, message: `${problem} (skipped: its match criteria do not compile, so it can match nothing; routing.strict is false)` });
      } else {
        warnings.push({ route: parts.name, message: `${problem} (loaded because routing.strict is false: the requests it matches fail)` });
        compiled.push({ name: parts.name, matcher: parts.matcher, priority: parts.priority, isDefault: parts.isDefault, target: { broken: problem } });
      }
    }
    const fileProblems: string[] = [];
    if (file.default_endpoint !== null && file.default_endpoint !== undefined) checkEndpoint(file.default_endpoint, null, options, fileProblems, warnings);
    for (const message of fileProblems) (strict ? issues : warnings).push({ route: null, message });
    const defaults = compiled.filter((r) => r.isDefault);
    if (defaultNames.length > 1) {
      const message = `more than one default route (${defaultNames.map((n) => `"${n}"`).join(', ')})`;
      if (strict) issues.push({ route: defaultNames[1] ?? null, message });
      else warnings.push({ route: defaults[0]?.name ?? null, message: `${message}; the first one loaded is used` });
    }
    if (strict && issues.length > 0) throw new RoutesError(issues);
    const ordered = compiled.filter((r) => !r.isDefault).sort((a, b) => b.priority - a.priority);
    const context = { jq, maxOutputBytes: options.maxTransformOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES };
    return new Router(ordered, defaults[0], file, context, warnings);
  }

  /**
   * The queue of the route a message matches (the route's `queue`), without running its
   * transform: the API files a request by it when the client named no queue. Null when the
   * matching route names none, no route matches, or the matching route is broken (its failure
   * is the worker's to report).
   */
  async queueOf(envelope: Record<string, unknown>): Promise<string | null> {
    const message = routingView(envelope);
    let found = this.defaultRoute;
    for (const route of this.routes) {
      if (await matches(route.matcher, message, this.context)) {
        found = route;
        break;
      }
    }
    const target = found?.target;
    return target === undefined || 'broken' in target ? null : (target.spec.queue ?? null);
  }

  /**
   * Routes a message (the queue envelope as JSON), seen as the client sent it (routingView).
   * Throws HQM_ERR_NO_ROUTE, HQM_ERR_TRANSFORM, HQM_ERR_ROUTES_INVALID (a broken route matched)
   * or HQM_ERR_OVERLOADED as a DeferralError (no jq thread free in time: try later, no attempt spent).
   */
  async route(envelope: Record<string, unknown>, options: RouteOptions = {}): Promise<RoutingResult> {
    const message = routingView(envelope);
    const ctx = options.jq === undefined ? this.context : { ...this.context, jq: options.jq };
    for (const route of this.routes) {
      if (await matches(route.matcher, message, ctx)) return this.#apply(route, message, ctx);
    }
    if (this.defaultRoute !== undefined) return this.#apply(this.defaultRoute, message, ctx);
    const fallback = this.file.default_endpoint;
    if (this.file.enable_fallback && fallback !== null && fallback !== undefined) {
      return { route_name: null, endpoint: fallback, method: null, payload: message.payload ?? message, headers: {}, query_params: {}, timeout: null, max_retries: null };
    }
    throw new HqmError(
      'HQM_ERR_NO_ROUTE',
      this.file.enable_fallback
        ? 'no route matches the message, and the routes have no default route and no default_endpoint to fall back to'
        : 'no route matches the message, there is no default route, and fallback is off (enable_fallback: false)',
    );
  }

  async #apply(route: CompiledRoute, message: Record<string, unknown>, ctx: TransformContext): Promise<RoutingResult> {
    const { target } = route;
    if ('broken' in target) {
      throw new HqmError('HQM_ERR_ROUTES_INVALID', `route "${route.name}" matches this message but is broken: ${target.broken} (it was loaded because routing.strict is false)`, {
        details: { route: route.name },
      });
    }
    let payload: unknown;
    try {
      if (target.transform === null) payload = message.payload ?? message;
      else {
        payload = await target.transform(message, ctx);
        assertOutputWithin(payload, ctx.maxOutputBytes);
      }
    } catch (error) {
      throw transformError(route.name, error);
    }
    const { spec } = target;
    return {
      route_name: route.name,
      endpoint: spec.endpoint,
      method: spec.method ?? null,
      payload,
      headers: mapped(spec.header_mappings, message),
      query_params: mapped(spec.query_params, message),
      timeout: spec.timeout ?? null,
      max_retries: spec.max_retries ?? null,
    };
  }
}

/** A transform's failure as the request's error: permanent, unless it was only a busy jq pool. */
function transformError(route: string, error: unknown): HqmError {
  const message = `route "${route}": ${(error as Error).message}`;
  if (error instanceof DeferralError) return new DeferralError(error.code as 'HQM_ERR_OVERLOADED', message, error.delayMs);
  if (isHqmError(error) && error.retryable) return new HqmError(error.code, message, { cause: error, details: { route }, retryable: true });
  const details = error instanceof OutputTooLargeError ? { route, max_bytes: error.maxBytes } : { route };
  return new HqmError('HQM_ERR_TRANSFORM', message, { cause: error, details });
}

function checkEndpoint(endpoint: string, route: string | null, options: CompileOptions, problems: string[], warnings: RouteIssue[]): void {
  if (options.endpointKnown === undefined || options.endpointKnown(endpoint) || isHttpUrl(endpoint)) return;
  const message = `endpoint "${endpoint}" is neither configured in proxy.endpoints nor a URL`;
  if (options.unknownEndpoint === 'warn') warnings.push({ route, message });
  else problems.push(message);
}

function checkQueue(queue: string | null | undefined, options: CompileOptions, problems: string[]): void {
  if (queue === null || queue === undefined || options.queues === undefined || options.queues.includes(queue)) return;
  problems.push(`queue "${queue}" is not configured (known: ${options.queues.join(', ')})`);
}

function mapped(mappings: Readonly<Record<string, string>> | null | undefined, message: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, path] of Object.entries(mappings ?? {})) {
    const value = getPath(message, path);
    if (value !== undefined && value !== null) out[name] = asText(value);
  }
  return out;
}

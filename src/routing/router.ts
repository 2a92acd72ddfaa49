/**
 * The routing engine: compiles a routes file once (every regex, jq program, JSONPath,
 * template and JSONata expression), refusing it with one error per broken route, and routes
 * messages: the first matching enabled route by priority (highest first, file order among
 * equals), then the default route, then — with `enable_fallback` — the file's
 * `default_endpoint` with the payload passed through.
 *
 * @module
 */
import { HqmError } from '../core/errors.js';
import { asText, getPath } from '../core/paths.js';
import { compilePattern, matches, type Condition, type Matcher } from './routes/match.js';
import { routeSchema, routesFileSchema, type ConditionSpec, type RouteSpec, type RoutesFile } from './routes/schema.js';
import { compileJq } from './transform/jq.js';
import { compileJsonata } from './transform/jsonata.js';
import { compileJsonPath } from './transform/jsonpath.js';
import { compileTemplate } from './transform/template.js';
import type { Transform } from './transform/types.js';
import { isHttpUrl } from '../core/http.js';

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
  readonly endpoint: string;
  readonly transform: Transform | null;
  readonly spec: RouteSpec;
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
}

export class Router {
  private constructor(
    private readonly routes: readonly CompiledRoute[],
    private readonly defaultRoute: CompiledRoute | undefined,
    private readonly file: RoutesFile,
    /** Problems that did not stop compilation (unknown endpoints in warn mode). */
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
    const issues: RouteIssue[] = [];
    const warnings: RouteIssue[] = [];
    const names = new Set<string>();
    const compiled: CompiledRoute[] = [];
    // Counted from what the file says, broken routes included, so every problem shows at once.
    const defaultNames: string[] = [];
    for (const [index, raw] of file.routes.entries()) {
      const checked = routeSchema.safeParse(raw);
      if (!checked.success) {
        const given = raw as { name?: unknown; is_default?: unknown; enabled?: unknown } | null;
        const name = typeof given?.name === 'string' ? given.name : `#${index + 1}`;
        for (const issue of checked.error.issues) issues.push({ route: name, message: `${issue.path.join('.') || 'route'}: ${issue.message}` });
        if (given?.is_default === true && given.enabled !== false) defaultNames.push(name);
        continue;
      }
      const spec = checked.data;
      if (names.has(spec.name)) issues.push({ route: spec.name, message: 'the name is used by another route' });
      names.add(spec.name);
      if (!spec.enabled) continue;
      if (spec.is_default) defaultNames.push(spec.name);
      const route = await compileRoute(spec, issues);
      if (route !== undefined) compiled.push(route);
      checkEndpoint(spec.endpoint, spec.name, options, issues, warnings);
    }
    if (file.default_endpoint !== null && file.default_endpoint !== undefined) checkEndpoint(file.default_endpoint, null, options, issues, warnings);
    if (defaultNames.length > 1) issues.push({ route: defaultNames[1] ?? null, message: `more than one default route (${defaultNames.map((n) => `"${n}"`).join(', ')})` });
    const defaults = compiled.filter((r) => r.spec.is_default);
    if (issues.length > 0) throw new RoutesError(issues);
    const ordered = compiled.filter((r) => !r.spec.is_default).sort((a, b) => b.spec.priority - a.spec.priority);
    return new Router(ordered, defaults[0], file, warnings);
  }

  /** Routes a message (the queue envelope as JSON). Throws HQM_ERR_NO_ROUTE or HQM_ERR_TRANSFORM. */
  async route(message: Record<string, unknown>): Promise<RoutingResult> {
    for (const route of this.routes) {
      if (await matches(route.matcher, message)) return this.#apply(route, message);
    }
    if (this.defaultRoute !== undefined) return this.#apply(this.defaultRoute, message);
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

  async #apply(route: CompiledRoute, message: Record<string, unknown>): Promise<RoutingResult> {
    let payload: unknown;
    try {
      payload = route.transform === null ? (message.payload ?? message) : await route.transform(message);
    } catch (error) {
      throw new HqmError('HQM_ERR_TRANSFORM', `route "${route.name}": ${(error as Error).message}`, { cause: error, details: { route: route.name } });
    }
    return {
      route_name: route.name,
      endpoint: route.endpoint,
      method: route.spec.method ?? null,
      payload,
      headers: mapped(route.spec.header_mappings, message),
      query_params: mapped(route.spec.query_params, message),
      timeout: route.spec.timeout ?? null,
      max_retries: route.spec.max_retries ?? null,
    };
  }
}

async function compileRoute(spec: RouteSpec, issues: RouteIssue[]): Promise<CompiledRoute | undefined> {
  const problem = (message: string): undefined => {
    issues.push({ route: spec.name, message });
    return undefined;
  };
  let pattern: RegExp | null = null;
  if (spec.match_pattern !== null && spec.match_pattern !== undefined) {
    try {
      pattern = compilePattern(spec.match_pattern, true);
    } catch (error) {
      return problem(`match_pattern is not a valid regular expression: ${(error as Error).message}`);
    }
  }
  let conditions: Condition[];
  let transform: Transform | null;
  try {
    conditions = await Promise.all((spec.conditions ?? []).map(compileCondition));
    transform = await compileTransform(spec);
  } catch (error) {
    return problem((error as Error).message);
  }
  const operator = spec.condition_operator ?? spec.conditionOperator ?? 'AND';
  return {
    name: spec.name,
    endpoint: spec.endpoint,
    transform,
    spec,
    matcher: { field: spec.match_field ?? null, value: spec.match_value ?? null, pattern, conditions, any: operator === 'OR' },
  };
}

async function compileTransform(spec: RouteSpec): Promise<Transform | null> {
  const source = spec.transform ?? null;
  if (spec.transform_type === 'passthrough') return null;
  if (source === null || source.trim() === '') throw new Error(`transform_type ${spec.transform_type} needs a transform`);
  const label = (error: unknown): Error => new Error(`${spec.transform_type} transform does not compile: ${(error as Error).message}`);
  try {
    switch (spec.transform_type) {
      case 'jq':
        return await compileJq(source);
      case 'jsonpath':
        return compileJsonPath(source);
      case 'template':
        return compileTemplate(source);
      case 'jsonata':
        return compileJsonata(source);
    }
  } catch (error) {
    throw label(error);
  }
}

async function compileCondition(spec: ConditionSpec): Promise<Condition> {
  const usesJq = spec.type === 'jq' || spec.operator === 'jq';
  if (!usesJq && (spec.field === undefined || spec.field === '')) throw new Error(`a ${spec.type} condition needs a field`);
  let pattern: RegExp | undefined;
  if (spec.operator === 'regex') {
    try {
      pattern = compilePattern(asText(spec.value ?? ''), false);
    } catch (error) {
      throw new Error(`condition regex is invalid: ${(error as Error).message}`);
    }
  }
  let jq: Transform | undefined;
  if (usesJq) {
    if (spec.jqExpression === undefined) throw new Error('a jq condition needs jqExpression');
    try {
      jq = await compileJq(spec.jqExpression);
    } catch (error) {
      throw new Error(`condition jq does not compile: ${(error as Error).message}`);
    }
  }
  return { source: spec.type, field: spec.field, operator: spec.operator, value: spec.value, pattern, jq };
}

function checkEndpoint(endpoint: string, route: string | null, options: CompileOptions, issues: RouteIssue[], warnings: RouteIssue[]): void {
  if (options.endpointKnown === undefined || options.endpointKnown(endpoint) || isHttpUrl(endpoint)) return;
  const issue = { route, message: `endpoint "${endpoint}" is neither configured in proxy.endpoints nor a URL` };
  if (options.unknownEndpoint === 'warn') warnings.push(issue);
  else issues.push(issue);
}

function mapped(mappings: Readonly<Record<string, string>> | null | undefined, message: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, path] of Object.entries(mappings ?? {})) {
    const value = getPath(message, path);
    if (value !== undefined && value !== null) out[name] = asText(value);
  }
  return out;
}

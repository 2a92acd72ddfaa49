/**
 * Compiling one route of a routes file: its match criteria (match_pattern, conditions) and its
 * transform, each problem recorded instead of thrown, so the caller can name every broken route
 * at once (strict loading) or keep the routes that still work (routing.strict: false). A route
 * whose match criteria compile can still be placed in the routing order even when the rest of
 * it is broken; one whose match criteria do not compile cannot.
 *
 * @module
 */
import { asText } from '../../core/paths.js';
import { compileJq } from '../transform/jq.js';
import { compileJsonata } from '../transform/jsonata.js';
import { compileJsonPath } from '../transform/jsonpath.js';
import { compileTemplate } from '../transform/template.js';
import type { JqRunner, Transform } from '../transform/types.js';
import { compilePattern, type Condition, type Matcher } from './match.js';
import { matchSchema, routeSchema, type ConditionSpec, type RouteSpec } from './schema.js';
import type { SafePattern } from './regex.js';

export interface RouteParts {
  readonly name: string;
  readonly enabled: boolean;
  readonly isDefault: boolean;
  readonly priority: number;
  /** Undefined when the match criteria do not compile: the route can match nothing. */
  readonly matcher: Matcher | undefined;
  /** The route's endpoint, when the route itself is valid (its transform may still be broken). */
  readonly endpoint: string | undefined;
  /** The named queue the route files requests into (checked against the configured ones where known). */
  readonly queue: string | null | undefined;
  /** Undefined when the route is invalid beyond its match criteria. */
  readonly target: { readonly spec: RouteSpec; readonly transform: Transform | null } | undefined;
  readonly problems: string[];
}

export async function compileRoute(raw: unknown, index: number, jq: JqRunner): Promise<RouteParts> {
  const problems: string[] = [];
  const full = routeSchema.safeParse(raw);
  if (!full.success) problems.push(...full.error.issues.map((issue) => `${issue.path.join('.') || 'route'}: ${issue.message}`));
  const match = full.success ? full.data : matchSchema.safeParse(raw).data;
  const given = raw as { name?: unknown; is_default?: unknown; enabled?: unknown } | null;
  const name = match?.name ?? (typeof given?.name === 'string' ? given.name : `#${index + 1}`);
  const enabled = match?.enabled ?? given?.enabled !== false;
  const isDefault = match?.is_default ?? given?.is_default === true;
  const parts = { name, enabled, isDefault, priority: match?.priority ?? 0, endpoint: full.data?.endpoint, queue: full.data?.queue, problems };
  if (match === undefined || !enabled) return { ...parts, matcher: undefined, target: undefined };
  const matcher = await compileMatcher(match, jq, problems);
  if (!full.success || matcher === undefined) return { ...parts, matcher, target: undefined };
  try {
    return { ...parts, matcher, target: { spec: full.data, transform: await compileTransform(full.data, jq) } };
  } catch (error) {
    problems.push((error as Error).message);
    return { ...parts, matcher, target: undefined };
  }
}

async function compileMatcher(spec: Pick<RouteSpec, 'match_field' | 'match_value' | 'match_pattern' | 'conditions' | 'condition_operator' | 'conditionOperator'>, jq: JqRunner, problems: string[]): Promise<Matcher | undefined> {
  let pattern: SafePattern | null = null;
  if (spec.match_pattern !== null && spec.match_pattern !== undefined) {
    try {
      pattern = compilePattern(spec.match_pattern, true);
    } catch (error) {
      problems.push(`match_pattern is not a valid regular expression: ${(error as Error).message}`);
      return undefined;
    }
  }
  let conditions: Condition[];
  try {
    conditions = await Promise.all((spec.conditions ?? []).map((condition) => compileCondition(condition, jq)));
  } catch (error) {
    problems.push((error as Error).message);
    return undefined;
  }
  const operator = spec.condition_operator ?? spec.conditionOperator ?? 'AND';
  return { field: spec.match_field ?? null, value: spec.match_value ?? null, pattern, conditions, any: operator === 'OR' };
}

async function compileTransform(spec: RouteSpec, jq: JqRunner): Promise<Transform | null> {
  const source = spec.transform ?? null;
  if (spec.transform_type === 'passthrough') return null;
  if (source === null || source.trim() === '') throw new Error(`transform_type ${spec.transform_type} needs a transform`);
  try {
    switch (spec.transform_type) {
      case 'jq':
        return await compileJq(source, jq);
      case 'jsonpath':
        return compileJsonPath(source);
      case 'template':
        return compileTemplate(source);
      case 'jsonata':
        return compileJsonata(source);
    }
  } catch (error) {
    throw new Error(`${spec.transform_type} transform does not compile: ${(error as Error).message}`);
  }
}

async function compileCondition(spec: ConditionSpec, jq: JqRunner): Promise<Condition> {
  const usesJq = spec.type === 'jq' || spec.operator === 'jq';
  if (!usesJq && (spec.field === undefined || spec.field === '')) throw new Error(`a ${spec.type} condition needs a field`);
  let pattern: SafePattern | undefined;
  if (spec.operator === 'regex') {
    try {
      pattern = compilePattern(asText(spec.value ?? ''), false);
    } catch (error) {
      throw new Error(`condition regex is invalid: ${(error as Error).message}`);
    }
  }
  let program: Transform | undefined;
  if (usesJq) {
    if (spec.jqExpression === undefined) throw new Error('a jq condition needs jqExpression');
    try {
      program = await compileJq(spec.jqExpression, jq);
    } catch (error) {
      throw new Error(`condition jq does not compile: ${(error as Error).message}`);
    }
  }
  return { source: spec.type, field: spec.field, operator: spec.operator, value: spec.value, pattern, jq: program };
}

/**
 * The routes file, in the original project's format (YAML or JSON, often a Kubernetes
 * ConfigMap), plus `conditions` as the original's route-manager UI writes them. Unknown keys
 * are ignored, so files exported by that UI load as they are.
 *
 * @module
 */
import { z } from 'zod';

const text = z.union([z.string(), z.number(), z.boolean()]).transform(String);

export const TRANSFORM_TYPES = ['passthrough', 'jq', 'jsonpath', 'template', 'jsonata'] as const;

const condition = z.object({
  type: z.enum(['payload', 'header', 'metadata', 'jq'], { error: 'expected payload, header, metadata or jq' }),
  field: z.string().optional(),
  operator: z.enum(['equals', 'contains', 'regex', 'exists', 'jq'], { error: 'expected equals, contains, regex, exists or jq' }),
  value: z.unknown().optional(),
  jqExpression: z.string().optional(),
});

export const routeSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().nullish(),
    match_field: z.string().nullish(),
    match_value: text.nullish(),
    match_pattern: z.string().nullish(),
    is_default: z.boolean().default(false),
    priority: z.number().int().default(0),
    endpoint: z.string().min(1),
    transform_type: z
      .string()
      .transform((v) => v.toLowerCase())
      .pipe(z.enum(TRANSFORM_TYPES, { error: `expected one of ${TRANSFORM_TYPES.join(', ')}` }))
      .default('passthrough'),
    transform: z.string().nullish(),
    method: z
      .string()
      .regex(/^[A-Za-z]{1,16}$/, 'expected an HTTP method name')
      .transform((v) => v.toUpperCase())
      .nullish(),
    header_mappings: z.record(z.string(), z.string()).nullish(),
    query_params: z.record(z.string(), z.string()).nullish(),
    enabled: z.boolean().default(true),
    timeout: z.number().positive().nullish(),
    max_retries: z.number().int().min(0).nullish(),
    /** The named queue a request matching this route goes to, unless its metadata.queue names one. */
    queue: z.string().min(1).nullish(),
    conditions: z.array(condition).nullish(),
    condition_operator: z.enum(['AND', 'OR']).nullish(),
    conditionOperator: z.enum(['AND', 'OR']).nullish(),
  })
  .loose();

/** What placing a route in the routing order takes: a route broken elsewhere can still match. */
export const matchSchema = routeSchema.pick({
  name: true,
  match_field: true,
  match_value: true,
  match_pattern: true,
  is_default: true,
  priority: true,
  enabled: true,
  conditions: true,
  condition_operator: true,
  conditionOperator: true,
});

export const routesFileSchema = z
  .object({
    version: text.default('1.0'),
    /** Each route is validated on its own, so one broken route does not hide the others. */
    routes: z.array(z.unknown()).default([]),
    default_endpoint: z.string().nullish(),
    enable_fallback: z.boolean().default(true),
  })
  .loose();

export type RouteSpec = z.infer<typeof routeSchema>;
export type RoutesFile = z.infer<typeof routesFileSchema>;
export type ConditionSpec = z.infer<typeof condition>;

/**
 * Fastify's schema-validation errors (Ajv) as the field issues of a 422, in plain words.
 *
 * @module
 */
import type { FieldIssue } from '../core/errors.js';

interface AjvError {
  readonly instancePath?: string;
  readonly keyword?: string;
  readonly message?: string;
  readonly params?: Record<string, unknown>;
}

/** The issues of a validation error Fastify raised (or attached to the request); undefined for any other error. */
export function schemaIssues(error: unknown): FieldIssue[] | undefined {
  const validation = (error as { validation?: AjvError[] } | undefined)?.validation;
  if (validation === undefined) return undefined;
  const raw = (error as { validationContext?: string }).validationContext ?? 'body';
  // Named as the rest of the API names it (`query.wait`, as parseWait says).
  const context = raw === 'querystring' ? 'query' : raw;
  return validation.map((e) => fromAjv(context, e));
}

function fromAjv(context: string, error: AjvError): FieldIssue {
  const path = [context, ...(error.instancePath ?? '').split('/').filter((p) => p !== '').map(unescapePointer)];
  const params = error.params ?? {};
  if (error.keyword === 'required' && typeof params.missingProperty === 'string') {
    return { path: [...path, params.missingProperty].join('.'), message: 'field required' };
  }
  if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    return { path: [...path, params.additionalProperty].join('.'), message: 'unknown field' };
  }
  if (error.keyword === 'type') return { path: path.join('.'), message: `must be ${describeTypes(params.type)}` };
  return { path: path.join('.'), message: error.message ?? 'is invalid' };
}

function unescapePointer(part: string): string {
  return part.replace(/~1/g, '/').replace(/~0/g, '~');
}

const ARTICLE: Readonly<Record<string, string>> = { integer: 'an integer', object: 'an object', array: 'an array', string: 'a string', number: 'a number', boolean: 'a boolean', null: 'null' };

/** `['integer', 'string']` → "an integer or a string". */
function describeTypes(type: unknown): string {
  const names = (Array.isArray(type) ? type : String(type).split(',')).map((t) => ARTICLE[String(t)] ?? String(t));
  return names.length <= 1 ? (names[0] ?? 'of another type') : `${names.slice(0, -1).join(', ')} or ${names.at(-1) ?? ''}`;
}

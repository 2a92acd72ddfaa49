/**
 * The checks the JSON Schema cannot phrase well: ranges, names and URLs of the submit body.
 * Every problem is collected, so one 422 names them all.
 *
 * @module
 */
import { ValidationError, type FieldIssue } from '../core/errors.js';
import { MAX_TIMEOUT_SECONDS, PRIORITY_MAX, PRIORITY_MIN, PRIORITY_NAMES } from '../core/request/envelope.js';
import { thenIssues } from '../core/request/chain.js';
import { isHttpUrl } from '../core/http.js';
import { callbackIssues, type CallbackRules } from '../webhooks/callback.js';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const METHOD = /^[A-Za-z]+$/;
/** RFC 9110 field-value characters: tab, visible ASCII, obs-text; what an HTTP client can send. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const MAX_ISSUES = 20;
const MAX_HEADERS = 100;

export interface SubmitBody {
  readonly payload: Record<string, unknown>;
  readonly headers?: Record<string, string> | null;
  readonly metadata?: Record<string, unknown> | null;
}

/**
 * Throws one ValidationError naming every problem: `schemaIssues` (what the JSON Schema found)
 * and the checks below, which skip whatever the schema already found to be of the wrong type.
 */
export function validateSubmit(
  body: SubmitBody,
  queues: ReadonlySet<string>,
  endpoints?: { has(name: string): boolean; readonly names: readonly string[] },
  schemaIssues: readonly FieldIssue[] = [],
): void {
  const issues: FieldIssue[] = [...schemaIssues];
  if (!isPlainObject(body)) throw new ValidationError(issues.slice(0, MAX_ISSUES));
  const headers = isPlainObject(body.headers) ? body.headers : {};
  const names = Object.keys(headers);
  if (names.length > MAX_HEADERS) issues.push({ path: 'body.headers', message: `at most ${MAX_HEADERS} headers` });
  for (const name of names) {
    if (!HEADER_NAME.test(name)) issues.push({ path: `body.headers.${name}`, message: 'is not a valid HTTP header name' });
    else if (typeof headers[name] === 'string' && !HEADER_VALUE.test(headers[name])) issues.push({ path: `body.headers.${name}`, message: 'must be visible ISO-8859-1 text (no control characters)' });
  }
  const m: Record<string, unknown> = isPlainObject(body.metadata) ? body.metadata : {};
  if ((typeof m.priority === 'number' || typeof m.priority === 'string') && !validPriority(m.priority)) {
    issues.push({ path: 'body.metadata.priority', message: `must be an integer from ${PRIORITY_MIN} to ${PRIORITY_MAX}, or one of ${Object.keys(PRIORITY_NAMES).join(', ')}` });
  }
  if (typeof m.timeout === 'number' && !(m.timeout > 0 && m.timeout <= MAX_TIMEOUT_SECONDS)) {
    issues.push({ path: 'body.metadata.timeout', message: `must be greater than 0 and at most ${MAX_TIMEOUT_SECONDS} seconds` });
  }
  if (typeof m.method === 'string' && !METHOD.test(m.method)) issues.push({ path: 'body.metadata.method', message: 'must be an HTTP method name' });
  if (typeof m.queue === 'string' && !queues.has(m.queue)) {
    issues.push({ path: 'body.metadata.queue', message: `unknown queue "${m.queue}"; known: ${[...queues].join(', ')}` });
  }
  if (typeof m.callback_url === 'string' && !isHttpUrl(m.callback_url)) issues.push({ path: 'body.metadata.callback_url', message: 'must be an http(s) URL' });
  if (endpoints !== undefined && typeof m.endpoint === 'string' && !endpoints.has(m.endpoint)) {
    // Only configured endpoints: a client must not be able to point the gateway at any URL.
    issues.push({ path: 'body.metadata.endpoint', message: `unknown endpoint "${m.endpoint}"; configured: ${endpoints.names.join(', ') || 'none'}` });
  }
  // The follow-up is checked as the submit it will be, by this same function (so its queue, endpoint, … too).
  issues.push(...thenIssues(m.then, (followUp) => submitIssues(followUp, queues, endpoints)));
  if (issues.length === 0) return;
  // One message per field: a range check says nothing new about a field the schema already refused.
  const flagged = new Set(schemaIssues.map((issue) => issue.path));
  const own = issues.slice(schemaIssues.length).filter((issue) => !flagged.has(issue.path));
  throw new ValidationError([...schemaIssues, ...own].slice(0, MAX_ISSUES));
}

/** validateSubmit's findings as a list (empty when the body is good). */
export function submitIssues(body: SubmitBody, queues: ReadonlySet<string>, endpoints?: { has(name: string): boolean; readonly names: readonly string[] }): readonly FieldIssue[] {
  try {
    validateSubmit(body, queues, endpoints);
    return [];
  } catch (error) {
    if (error instanceof ValidationError) return error.issues;
    throw error;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validPriority(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value) && value >= PRIORITY_MIN && value <= PRIORITY_MAX;
  return typeof value === 'string' && Object.hasOwn(PRIORITY_NAMES, value.toLowerCase());
}


/**
 * The webhook fields of a submit (metadata.callback_url, callback_events) against the server's
 * webhook settings: refused when webhooks are off, a literal internal address unless allowed.
 * Without settings (tests of other features) only validateSubmit's URL check applies.
 */
export function assertCallback(metadata: Readonly<Record<string, unknown>> | null | undefined, rules: CallbackRules | undefined): void {
  if (rules === undefined) return;
  const issues = callbackIssues(metadata, rules);
  if (issues.length > 0) throw new ValidationError(issues);
}

/** `?wait=N`: seconds, non-negative, capped at `max`. Absent means 0. */
export function parseWait(raw: string | undefined, max: number): number {
  if (raw === undefined || raw === '') return 0;
  if (!/^\d+(\.\d+)?$/.test(raw)) throw new ValidationError([{ path: 'query.wait', message: 'must be a number of seconds (0 or more)' }]);
  return Math.min(Number(raw), max);
}

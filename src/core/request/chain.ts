/**
 * Request chaining: `metadata.then: {payload?, metadata?, queue?}` asks for a follow-up request
 * to be submitted when this one COMPLETES, carrying its result. The rules here are pure; the
 * API validates `then` with them at submit, and the worker builds the follow-up with them.
 *
 * - The follow-up's payload is `then.payload` with the result added as `previous`; without
 *   `then.payload` the result itself is the payload (wrapped as `{previous: result}` when it is
 *   not a JSON object, since a payload is an object).
 * - Its metadata is `then.metadata` alone (`then.queue` is short for `then.metadata.queue`):
 *   nothing is inherited from the first request but its tenant and its trace.
 * - A `then` inside `then.metadata` chains a third request, and so on, up to MAX_CHAIN_LENGTH
 *   follow-ups, so one submit cannot plant an unbounded series of requests.
 * - Its id is derived from the first request's id (followUpIdOf), so a completion that is
 *   delivered or applied twice names the same follow-up, and the store refuses a second one.
 *
 * @module
 */
import type { FieldIssue } from '../errors.js';
import { correlationIdFor } from './ids.js';

/** Most follow-ups one submit may chain (then inside then.metadata inside …). */
export const MAX_CHAIN_LENGTH = 5;

const THEN_KEYS: readonly string[] = ['payload', 'metadata', 'queue'];

/** `metadata.then` once it passed thenIssues. */
export interface ThenSpec {
  readonly payload?: Readonly<Record<string, unknown>>;
  readonly metadata?: Readonly<Record<string, unknown>> | null;
  readonly queue?: string;
}

/** A follow-up as a client would submit it. */
export interface FollowUpBody {
  readonly payload: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/**
 * A published, fixed key: the follow-up's id is then a plain function of its parent's id, the
 * same in every process and every deployment. It is as hard to guess as the parent's id (128
 * random bits go in), and whoever holds that id can read `next_id` in its result anyway.
 */
const FOLLOW_UP_KEY = 'openhqm:then:v1';

/** The id of the request that `parentId` chains to (an RFC 9562 version-8 UUID). */
export function followUpIdOf(parentId: string): string {
  return correlationIdFor(parentId, FOLLOW_UP_KEY);
}

/** How many follow-ups `then` chains: 0 without one, 1 for a `then` with no `then` of its own, … */
export function chainLength(then: unknown): number {
  let length = 0;
  let current = then;
  // Bounded: past the limit the count no longer matters.
  while (isObject(current) && length <= MAX_CHAIN_LENGTH) {
    length += 1;
    current = isObject(current.metadata) ? current.metadata.then : undefined;
  }
  return length;
}

/**
 * Every problem with `then` (found in a body's metadata), with paths under `body.metadata.then`.
 * `check` validates a submit body as the API does (and so each nested `then` in turn); its
 * paths (`body.payload…`, `body.metadata…`) are renamed to where the client wrote them.
 */
export function thenIssues(then: unknown, check: (body: FollowUpBody) => readonly FieldIssue[]): FieldIssue[] {
  const at = 'body.metadata.then';
  if (then === undefined) return [];
  if (!isObject(then)) return [{ path: at, message: `must be an object: {${THEN_KEYS.join(', ')}}, each optional` }];
  const issues: FieldIssue[] = [];
  for (const key of Object.keys(then)) {
    if (!THEN_KEYS.includes(key)) issues.push({ path: `${at}.${key}`, message: `unknown field; known: ${THEN_KEYS.join(', ')}` });
  }
  if (then.payload !== undefined && !isObject(then.payload)) issues.push({ path: `${at}.payload`, message: 'must be an object' });
  if (then.metadata !== undefined && then.metadata !== null && !isObject(then.metadata)) issues.push({ path: `${at}.metadata`, message: 'must be an object' });
  if (then.queue !== undefined && typeof then.queue !== 'string') issues.push({ path: `${at}.queue`, message: 'must be a string' });
  const nestedQueue = isObject(then.metadata) ? then.metadata.queue : undefined;
  if (typeof then.queue === 'string' && nestedQueue !== undefined && nestedQueue !== then.queue) {
    issues.push({ path: `${at}.queue`, message: `names another queue than ${at}.metadata.queue; give one of them` });
  }
  const length = chainLength(then);
  if (length > MAX_CHAIN_LENGTH) issues.push({ path: at, message: `chains more than ${MAX_CHAIN_LENGTH} follow-up requests (a then inside then.metadata, …)` });
  // Only a well-formed then is checked as a submit; its nested then is checked by that check.
  if (issues.length > 0) return issues;
  const spec = then as ThenSpec;
  const queueFromThen = typeof spec.queue === 'string' && nestedQueue === undefined;
  return check(templateOf(spec)).map((issue) => ({ ...issue, path: renamePath(issue.path, queueFromThen) }));
}

/** The follow-up `then` asks for, carrying `result`. `then` must have passed thenIssues. */
export function followUpBody(then: ThenSpec, result: unknown): FollowUpBody {
  const template = templateOf(then);
  const payload = then.payload !== undefined ? { ...template.payload, previous: result } : isObject(result) ? result : { previous: result };
  return { ...template, payload };
}

/** The follow-up without the result: what can be checked at submit. */
function templateOf(then: ThenSpec): FollowUpBody {
  const metadata = { ...(then.metadata ?? {}), ...(then.queue === undefined ? {} : { queue: then.queue }) };
  return { payload: then.payload ?? {}, headers: {}, metadata };
}

function renamePath(path: string, queueFromThen: boolean): string {
  if (queueFromThen && path === 'body.metadata.queue') return 'body.metadata.then.queue';
  if (path === 'body.metadata' || path.startsWith('body.metadata.')) return `body.metadata.then.metadata${path.slice('body.metadata'.length)}`;
  if (path === 'body' || path.startsWith('body.')) return `body.metadata.then${path.slice('body'.length)}`;
  return path;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

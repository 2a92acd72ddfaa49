/**
 * The closed error catalogue. Every failure a caller can act on has a stable `HQM_ERR_*` code,
 * the HTTP status the API answers with, and whether trying again later can help. Callers branch
 * on `code` or `retryable`, never on message text. docs/errors.md lists every code (a test keeps
 * the two in step).
 *
 * @module
 */

interface ErrorSpec {
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly summary: string;
}

export const ERROR_CATALOGUE = {
  HQM_ERR_VALIDATION: { httpStatus: 422, retryable: false, summary: 'A request field is missing, has the wrong type or is out of range.' },
  HQM_ERR_BAD_REQUEST: { httpStatus: 400, retryable: false, summary: 'The HTTP request itself is malformed (a bad URL, a bad Content-Length).' },
  HQM_ERR_UNSAFE_PATH: { httpStatus: 400, retryable: false, summary: 'A captured request\'s target cannot be forwarded: it is not a plain path (an absolute URL, `*`, a fragment), or some reading of its path climbs above its root (`..`, `\\`, `%2e%2e`, `%2f`, `%5c`, doubled encodings). The API answers 400 and stores nothing; a queued message with such a path (an outside producer\'s) fails without retrying.' },
  HQM_ERR_HEADERS_TOO_LARGE: { httpStatus: 431, retryable: false, summary: 'The request headers are larger than the server accepts (Node\'s --max-http-header-size, 16 KiB by default).' },
  HQM_ERR_REQUEST_TIMEOUT: { httpStatus: 408, retryable: false, summary: 'The client did not send the whole request (headers and body) within 30 seconds.' },
  HQM_ERR_MALFORMED_BODY: { httpStatus: 400, retryable: false, summary: 'The body is not valid UTF-8 JSON.' },
  HQM_ERR_BODY_TOO_LARGE: { httpStatus: 413, retryable: false, summary: 'The body is larger than api.max_body_bytes, or the message would exceed what the queue backend accepts.' },
  HQM_ERR_UNSUPPORTED_MEDIA_TYPE: { httpStatus: 415, retryable: false, summary: 'The Content-Type is not application/json, or the body is compressed (Content-Encoding).' },
  HQM_ERR_NOT_FOUND: { httpStatus: 404, retryable: false, summary: 'No request with that id exists, or it has expired.' },
  HQM_ERR_ROUTE_NOT_FOUND: { httpStatus: 404, retryable: false, summary: 'No endpoint exists at that path and method.' },
  HQM_ERR_UNAUTHENTICATED: { httpStatus: 401, retryable: false, summary: 'auth.enabled is on and the request carries no credential, or one that is not valid (unknown API key; a JWT that is expired, not yet valid, for another issuer or audience, signed with a refused algorithm or a wrong key). Answered with WWW-Authenticate.' },
  HQM_ERR_FORBIDDEN: { httpStatus: 403, retryable: false, summary: 'The credential is valid but its roles do not allow this endpoint (submit, read, admin), or it names no tenant.' },
  HQM_ERR_AUTH_UNAVAILABLE: { httpStatus: 503, retryable: true, summary: 'The JWT key set (auth.jwt.jwks_url) could not be fetched and no key already held matches the token; retry after Retry-After.' },
  HQM_ERR_BACKEND_UNAVAILABLE: { httpStatus: 503, retryable: true, summary: 'The queue backend or result store cannot be reached; nothing was stored. Retry after the Retry-After interval.' },
  HQM_ERR_SHUTTING_DOWN: { httpStatus: 503, retryable: true, summary: 'The process is shutting down and takes no new work.' },
  HQM_ERR_DUPLICATE_ID: { httpStatus: 409, retryable: false, summary: 'A request record with that correlation id already exists.' },
  HQM_ERR_IDEMPOTENCY_KEY_REUSED: { httpStatus: 422, retryable: false, summary: 'The Idempotency-Key was used before (by the same tenant, within api.idempotency_ttl_seconds) with a different request body; nothing was stored. Use a new key for a new request.' },
  HQM_ERR_IDEMPOTENCY_IN_FLIGHT: { httpStatus: 409, retryable: true, summary: 'A submit with the same Idempotency-Key is still being stored; retry after Retry-After to get its answer.' },
  HQM_ERR_ALREADY_FINISHED: { httpStatus: 409, retryable: false, summary: 'DELETE /api/v1/requests/{id} on a request that already finished (COMPLETED, FAILED, TIMEOUT or CANCELLED); the body names its `status`.' },
  HQM_ERR_CANCELLED: { httpStatus: 409, retryable: false, summary: 'The request was cancelled (DELETE /api/v1/requests/{id}) before it finished; GET /api/v1/requests/{id} answers 409 with this code.' },
  HQM_ERR_NOT_REPLAYABLE: { httpStatus: 409, retryable: false, summary: 'POST /api/v1/dead-letters/{id}/replay on a dead letter that cannot be replayed: its request is no longer FAILED or TIMEOUT (it is running or finished again; the body names its `status`), or the message is not an OpenHQM request (an outside producer\'s bare message, or undecodable), so it has no correlation id to bring back.' },
  HQM_ERR_INVALID_TRANSITION: { httpStatus: 409, retryable: false, summary: 'The lifecycle does not allow that status change.' },
  HQM_ERR_CONFIG: { httpStatus: 500, retryable: false, summary: 'The configuration is invalid; start-up stops with exit code 2.' },
  HQM_ERR_ADAPTER_UNKNOWN: { httpStatus: 500, retryable: false, summary: 'queue.type or cache.type names no known backend, or that backend is not available in this build.' },
  HQM_ERR_CAPABILITY: { httpStatus: 500, retryable: false, summary: 'The configuration asks for something the chosen backend cannot do.' },
  HQM_ERR_UNSUPPORTED: { httpStatus: 409, retryable: false, summary: 'The queue backend cannot do this: the dead letters of the kafka, azure_eventhubs, sqs and gcp_pubsub queues are listed and read but not removed, purged or replayed one by one (capability deadLetterBrowsing is false), and a FIFO SQS queue cannot delay a message.' },
  HQM_ERR_MESSAGE_INVALID: { httpStatus: 500, retryable: false, summary: 'A queue message could not be decoded; it is dead-lettered without processing.' },
  HQM_ERR_PROCESSOR_LOAD: { httpStatus: 500, retryable: false, summary: 'worker.processor_module could not be imported or does not export a function.' },
  HQM_ERR_PROCESSOR_FAILED: { httpStatus: 502, retryable: false, summary: 'The processor (worker.processor_module or a built-in operation) threw on its last attempt; the request is FAILED with its message. Retryable errors are retried first.' },
  HQM_ERR_PROCESSOR_RESULT: { httpStatus: 500, retryable: false, summary: 'The processor returned a value that is not JSON (a function, a bigint, a cycle, a lone surrogate).' },
  HQM_ERR_RESULT_TOO_LARGE: { httpStatus: 502, retryable: false, summary: 'The processor\'s result is larger than worker.max_result_bytes as JSON (16 MiB by default); the request is FAILED instead of storing it.' },
  HQM_ERR_DEADLINE_EXCEEDED: { httpStatus: 504, retryable: false, summary: 'The request deadline (metadata.timeout, counted from submission, or from run_at for a delayed request) passed before it completed.' },
  HQM_ERR_ATTEMPTS_EXHAUSTED: { httpStatus: 500, retryable: false, summary: 'The message was delivered more times than worker.max_retries allows without finishing (its workers kept dying).' },
  HQM_ERR_ENDPOINT_UNKNOWN: { httpStatus: 422, retryable: false, summary: 'metadata.endpoint names no entry of proxy.endpoints, or no endpoint is configured at all. The API refuses such a submit as a 422 HQM_ERR_VALIDATION on body.metadata.endpoint; this code fails a queued message (an outside producer\'s).' },
  HQM_ERR_UPSTREAM_UNREACHABLE: { httpStatus: 502, retryable: true, summary: 'The upstream refused or dropped the connection (or its name did not resolve); retried with backoff.' },
  HQM_ERR_UPSTREAM_TIMEOUT: { httpStatus: 504, retryable: true, summary: 'The upstream did not answer within the endpoint timeout; retried with backoff.' },
  HQM_ERR_UPSTREAM_STATUS: { httpStatus: 502, retryable: true, summary: 'The upstream answered a status listed in proxy.retry_on_status (5xx, 429); retried, honouring Retry-After.' },
  HQM_ERR_UPSTREAM_FAILED_STATUS: { httpStatus: 502, retryable: false, summary: 'After its retries the upstream answered a status listed in proxy.fail_on_status; the request is FAILED with that answer.' },
  HQM_ERR_UPSTREAM_REQUEST_INVALID: { httpStatus: 422, retryable: false, summary: 'The request cannot be sent upstream as it is (a header value or method the HTTP client refuses); it fails without retrying.' },
  HQM_ERR_UPSTREAM_RESPONSE_TOO_LARGE: { httpStatus: 502, retryable: false, summary: 'The upstream answer is larger than proxy.max_response_size.' },
  HQM_ERR_CIRCUIT_OPEN: { httpStatus: 503, retryable: true, summary: 'The endpoint\'s circuit breaker is open; the request waits in the queue (no attempt is counted) until a probe succeeds.' },
  HQM_ERR_RATE_LIMITED: { httpStatus: 429, retryable: true, summary: 'The tenant submitted more than its auth.tenants.<t>.rate_per_second (or auth.default_tenant\'s) allows; retry after Retry-After.' },
  HQM_ERR_OVERLOADED: { httpStatus: 503, retryable: true, summary: 'Load shedding: the queue is deeper than api.max_queue_depth, or the event loop is saturated, or api.max_streams live streams (SSE, WebSocket) are open. Retry after Retry-After.' },
  HQM_ERR_UPGRADE_REQUIRED: { httpStatus: 426, retryable: false, summary: 'GET /api/v1/ws was called without a WebSocket upgrade; it speaks WebSocket only.' },
  HQM_ERR_ROUTES_INVALID: { httpStatus: 422, retryable: false, summary: 'A routes file (routing.config_path, routing.config_dict, or the body of POST /api/v1/routes/test) has broken routes; the error names each one. With routing.strict: false, a request that a broken route matches fails with it, naming the route.' },
  HQM_ERR_NO_ROUTE: { httpStatus: 422, retryable: false, summary: 'No route matches the message and no default endpoint is configured for fallback; the request fails without retrying.' },
  HQM_ERR_TRANSFORM: { httpStatus: 422, retryable: false, summary: 'A route\'s transform (jq, JSONPath, template, JSONata) failed on this message; the request fails without retrying.' },
  HQM_ERR_WEBHOOK_REFUSED: { httpStatus: 502, retryable: false, summary: 'A webhook\'s URL resolved to an address the SSRF guard refuses (loopback, private, link-local, unique-local, metadata); nothing was sent and the delivery is dead-lettered. delivery.webhooks.allow_private or allowed_hosts opens it.' },
  HQM_ERR_INTERNAL: { httpStatus: 500, retryable: false, summary: 'An unexpected fault inside OpenHQM; the log has the details.' },
  HQM_ERR_METRICS_UNAVAILABLE: { httpStatus: 503, retryable: true, summary: 'With server.processes above 1, GET /metrics answers for every process of the command, gathered through the primary process; a process did not answer in time (it is starting, stopping or stuck), or the primary is gone. Retry; the next scrape usually succeeds.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface HqmErrorOptions {
  cause?: unknown;
  /** Structured context for logs and API bodies (never secrets). */
  details?: Readonly<Record<string, unknown>>;
  /** Overrides the catalogue's default when a specific instance is (or is not) worth retrying. */
  retryable?: boolean;
}

/**
 * Marks every HqmError with a registry-wide symbol, so `isHqmError` recognises one made by
 * another copy of this module (a custom adapter that bundles its own `openhqm/ports`), where
 * `instanceof` would say no (D134).
 */
const HQM_ERROR_BRAND = Symbol.for('openhqm.HqmError');

export class HqmError extends Error {
  readonly [HQM_ERROR_BRAND] = true;
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: HqmErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HqmError';
    this.code = code;
    this.httpStatus = ERROR_CATALOGUE[code].httpStatus;
    this.retryable = options.retryable ?? ERROR_CATALOGUE[code].retryable;
    this.details = options.details;
  }
}

export function isHqmError(value: unknown): value is HqmError {
  if (value instanceof HqmError) return true;
  if (typeof value !== 'object' || value === null || (value as Record<symbol, unknown>)[HQM_ERROR_BRAND] !== true) return false;
  const code = (value as { code?: unknown }).code;
  return typeof code === 'string' && Object.hasOwn(ERROR_CATALOGUE, code);
}

/** One problem with one field of an input, named by its path (`metadata.priority`). */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/** Bad input from a client: answered with 422 and a body that names every field at fault. */
export class ValidationError extends HqmError {
  constructor(readonly issues: readonly FieldIssue[]) {
    super('HQM_ERR_VALIDATION', issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '), {
      details: { issues },
    });
    this.name = 'ValidationError';
  }
}

/** Turns any thrown value into an Error, keeping the original as `cause` when it was not one. */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  const text = typeof value === 'string' ? value : safeDescribe(value);
  return new Error(text, { cause: value });
}

function safeDescribe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The configuration cannot be used; `issues` names every bad key. Start-up exits with code 2. */
export class ConfigError extends HqmError {
  constructor(readonly issues: readonly FieldIssue[]) {
    super('HQM_ERR_CONFIG', formatConfigIssues(issues), { details: { issues } });
    this.name = 'ConfigError';
  }
}

function formatConfigIssues(issues: readonly FieldIssue[]): string {
  const lines = issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`);
  const noun = issues.length === 1 ? 'problem' : 'problems';
  return `invalid configuration (${issues.length} ${noun}):\n${lines.join('\n')}`;
}

/** An upstream's answer, kept with a failure so the client still sees what the upstream said. */
export interface UpstreamAnswer {
  readonly result: unknown;
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: RawBody | null;
}

/** A body kept byte for byte: UTF-8 text as is, anything else in base64. */
export interface RawBody {
  readonly data: string;
  readonly encoding: 'utf8' | 'base64';
}

/**
 * The upstream answered with a status that is retried (proxy.retry_on_status) or that fails
 * the request (proxy.fail_on_status). Carries the answer and the upstream's Retry-After.
 */
export class UpstreamStatusError extends HqmError {
  constructor(
    readonly answer: UpstreamAnswer,
    readonly retryAfterMs: number | null,
    final: boolean,
    endpoint: string,
  ) {
    super(
      final ? 'HQM_ERR_UPSTREAM_FAILED_STATUS' : 'HQM_ERR_UPSTREAM_STATUS',
      `upstream ${endpoint} answered ${answer.statusCode}`,
      { details: { endpoint, status: answer.statusCode }, retryable: !final },
    );
    this.name = 'UpstreamStatusError';
    // Out of logged errors (they copy enumerable fields): an answer carries the upstream's
    // Set-Cookie and other credentials, and a body of any size. The record keeps it.
    Object.defineProperty(this, 'answer', { enumerable: false });
  }
}

/**
 * Not now: the request goes back to the queue for `delayMs` without counting an attempt
 * (an open circuit, a rate limit with a long wait). Thrown by processors, honoured by the worker.
 */
export class DeferralError extends HqmError {
  constructor(
    code: 'HQM_ERR_CIRCUIT_OPEN' | 'HQM_ERR_OVERLOADED',
    message: string,
    readonly delayMs: number,
  ) {
    super(code, message, { details: { delayMs } });
    this.name = 'DeferralError';
  }
}

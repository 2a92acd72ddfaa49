/**
 * One error type for every answer the client cannot turn into a result: the server's `code`
 * (docs/errors.md), its HTTP status and `detail`, so a caller branches on `code`, never on text.
 *
 * @module
 */

/**
 * Codes the client itself gives, when there is no server code to carry: an answer that is not
 * the API's (a proxy's HTML page, a truncated body), or a stream that ended without a result.
 */
export type ClientErrorCode = 'HQM_CLIENT_BAD_RESPONSE' | 'HQM_CLIENT_STREAM_ENDED';

export interface OpenHqmErrorInit {
  readonly status: number;
  readonly code: string;
  readonly detail: unknown;
  /** The whole error body as parsed (it may carry more, such as `status` on a 409 of cancel). */
  readonly body?: unknown;
  /** Seconds from the Retry-After header of a 409, 429 or 503. */
  readonly retryAfter?: number;
  readonly cause?: unknown;
}

export class OpenHqmError extends Error {
  override readonly name = 'OpenHqmError';
  /** The HTTP status (0 when no answer came). */
  readonly status: number;
  /** `HQM_ERR_*` from the server, or a `ClientErrorCode`. */
  readonly code: string;
  /** The server's `detail`: a sentence, or for 422 a list of `{loc, msg, type}`. */
  readonly detail: unknown;
  readonly body: unknown;
  readonly retryAfter: number | undefined;

  constructor(message: string, init: OpenHqmErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.detail = init.detail;
    this.body = init.body;
    this.retryAfter = init.retryAfter;
  }
}

/** The error of a non-2xx answer whose body has been read as text. */
export function errorFromAnswer(status: number, text: string, retryAfterHeader: string | null): OpenHqmError {
  const retryAfter = retryAfterSeconds(retryAfterHeader);
  const body = parseJson(text);
  if (isErrorBody(body)) {
    const message = typeof body.message === 'string' ? body.message : typeof body.detail === 'string' ? body.detail : body.code;
    return new OpenHqmError(message, { status, code: body.code, detail: body.detail, body, retryAfter });
  }
  // Not the API's answer (a gateway in between): what it said, cut short, is the detail.
  return new OpenHqmError(`HTTP ${status} without an OpenHQM error body`, { status, code: 'HQM_CLIENT_BAD_RESPONSE', detail: text.slice(0, 500), body, retryAfter });
}

function isErrorBody(value: unknown): value is { code: string; detail: unknown; message?: unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string';
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Retry-After in seconds: a number of seconds, or an HTTP date (RFC 9110 §10.2.3). */
function retryAfterSeconds(header: string | null): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

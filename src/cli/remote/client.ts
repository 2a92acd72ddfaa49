/**
 * The HTTP side of the commands that talk to a running gateway (`openhqm top`, `openhqm
 * requests …`): the platform fetch, the credential, a deadline, and the sorting of every way a
 * call can go wrong into the few a script can act on (see exit-codes.ts).
 *
 * Deliberately small and not the `@openhqm/client` package: that one is a separate package
 * the root does not depend on, and these commands need only a handful of GETs and one POST.
 *
 * @module
 */
import { EXIT, type ExitCode } from './exit-codes.js';

/** `X-API-Key: <key>`, or `Authorization: Bearer <API key or JWT>` (docs/security.md). */
export type Credential = { readonly apiKey: string } | { readonly bearer: string } | undefined;

export interface RemoteOptions {
  /** Where OpenHQM answers, with the control prefix in sidecar mode; a trailing slash is ignored. */
  readonly baseUrl: string;
  readonly credential: Credential;
  /** A call without an answer by then counts as unreachable. */
  readonly timeoutMs: number;
}

/** An answer whose body is JSON (the API's answers all are). */
export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * Why a call did not give what was asked, with the exit code that says so:
 * - `refused`: the server answered 4xx (`code` and `detail` are its own);
 * - `server`: it answered 5xx (a backend down is 503 HQM_ERR_BACKEND_UNAVAILABLE);
 * - `unreachable`: no answer (refused connection, unknown host, TLS failure, the deadline);
 * - `invalid`: an answer that is not this API's (another service at that URL, a proxy page).
 */
export class RemoteError extends Error {
  constructor(
    readonly kind: 'refused' | 'server' | 'unreachable' | 'invalid',
    message: string,
    readonly details: { readonly status?: number; readonly code?: string; readonly body?: unknown } = {},
  ) {
    super(message);
    this.name = 'RemoteError';
  }

  get exitCode(): ExitCode {
    return { refused: EXIT.refused, server: EXIT.serverError, unreachable: EXIT.unreachable, invalid: EXIT.serverError }[this.kind];
  }
}

export class RemoteApi {
  readonly #base: string;

  constructor(private readonly options: RemoteOptions) {
    // A base with a path (a sidecar's control prefix) keeps it: paths are appended, not resolved.
    this.#base = options.baseUrl.replace(/\/+$/, '');
  }

  /** The URL a call goes to, with the query's defined values. */
  url(path: string, query: Readonly<Record<string, string | undefined>> = {}): string {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, value);
    const search = params.toString();
    return `${this.#base}${path}${search === '' ? '' : `?${search}`}`;
  }

  /**
   * Sends one call and returns the answer when it is JSON, whatever its status: some answers
   * carry a resource with a 4xx (a FAILED request's LRO status), so the caller decides with
   * `expectOk` or by looking. An unreachable server or a non-JSON answer is thrown.
   */
  async call(method: 'GET' | 'POST' | 'DELETE', path: string, options: { query?: Record<string, string | undefined>; body?: unknown; timeoutMs?: number } = {}): Promise<Answer> {
    const url = this.url(path, options.query);
    const headers: Record<string, string> = { accept: 'application/json', ...credentialHeaders(this.options.credential) };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method,
        headers,
        redirect: 'manual',
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal: AbortSignal.timeout(options.timeoutMs ?? this.options.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw new RemoteError('unreachable', `${this.#base}: no answer (${reasonOf(error)})`);
    }
    let body: unknown;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      throw new RemoteError('invalid', `${method} ${url} answered ${response.status} with a body that is not JSON: is --url an OpenHQM API (with its control prefix in sidecar mode)?`, { status: response.status });
    }
    return { status: response.status, body };
  }

  /** The answer of a call that must succeed (2xx); any other is thrown as the server's error. */
  async expectOk(method: 'GET' | 'POST' | 'DELETE', path: string, options: Parameters<RemoteApi['call']>[2] = {}): Promise<unknown> {
    const answer = await this.call(method, path, options);
    if (answer.status >= 200 && answer.status < 300) return answer.body;
    throw errorOf(answer);
  }
}

/** The server's `{detail, code}` of a non-2xx answer as a RemoteError. */
export function errorOf(answer: Answer): RemoteError {
  const body = (typeof answer.body === 'object' && answer.body !== null ? answer.body : {}) as { detail?: unknown; code?: unknown };
  const code = typeof body.code === 'string' ? body.code : undefined;
  const detail = typeof body.detail === 'string' ? body.detail : Array.isArray(body.detail) ? body.detail.map(issueText).join('; ') : JSON.stringify(body.detail ?? answer.body);
  const kind = answer.status >= 500 ? 'server' : answer.status >= 400 ? 'refused' : 'invalid';
  return new RemoteError(kind, detail, { status: answer.status, ...(code === undefined ? {} : { code }), body: answer.body });
}

/** A 422's issue, `{loc: ['query', 'status'], msg}`, as `query.status: msg`. */
function issueText(issue: unknown): string {
  const { loc, msg } = (issue ?? {}) as { loc?: unknown; msg?: unknown };
  const where = Array.isArray(loc) ? loc.map(String).join('.') : '';
  const what = typeof msg === 'string' ? msg : JSON.stringify(issue);
  return where === '' ? what : `${where}: ${what}`;
}

function credentialHeaders(credential: Credential): Record<string, string> {
  if (credential === undefined) return {};
  return 'apiKey' in credential ? { 'x-api-key': credential.apiKey } : { authorization: `Bearer ${credential.bearer}` };
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, a timeout) is in its cause. */
function reasonOf(error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return 'timed out';
  const { cause } = error as { cause?: { code?: string; message?: string } };
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

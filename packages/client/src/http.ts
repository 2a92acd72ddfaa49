/**
 * The transport under every call: the base URL, the credential, the caller's fetch, and the
 * turning of a non-2xx answer into an `OpenHqmError` with the server's code.
 *
 * @module
 */
import { errorFromAnswer, OpenHqmError, parseJson } from './errors.js';

/** The platform's fetch, or any function with its shape (a test double, an instrumented one). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** A credential, or a function giving the current one (a JWT that is refreshed). */
export type Secret = string | (() => string | Promise<string>);

/** `Authorization: Bearer <API key or JWT>`, or `X-API-Key: <API key>` (docs/security.md). */
export type Credential = { readonly bearer: Secret } | { readonly apiKey: Secret };

export interface HttpOptions {
  /** Where OpenHQM answers, e.g. `http://localhost:8000` (with the control prefix in sidecar mode). */
  readonly baseUrl: string | URL;
  readonly credential?: Credential;
  /** Defaults to the global fetch. */
  readonly fetch?: FetchLike;
  /** Sent with every call (a `traceparent`, say). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Call {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Path and query under the base URL, starting with `/`. */
  readonly path: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

/** A 2xx answer with its parsed JSON body. */
export interface Answer<T> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

export class Http {
  readonly #base: string;
  readonly #fetch: FetchLike;

  constructor(private readonly options: HttpOptions) {
    // A base with a path (a sidecar's control prefix) keeps it: paths are appended, not resolved.
    this.#base = String(options.baseUrl).replace(/\/+$/, '');
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Sends the call; a non-2xx answer is thrown as an OpenHqmError. */
  async json<T>(call: Call): Promise<Answer<T>> {
    const response = await this.send(call);
    const text = await response.text();
    if (!response.ok) throw errorFromAnswer(response.status, text, response.headers.get('retry-after'));
    const body = parseJson(text);
    if (body === undefined) {
      throw new OpenHqmError(`HTTP ${response.status} with a body that is not JSON`, { status: response.status, code: 'HQM_CLIENT_BAD_RESPONSE', detail: text.slice(0, 500) });
    }
    return { status: response.status, headers: response.headers, body: body as T };
  }

  /** Sends the call and hands back the raw answer, whatever its status (for streams). */
  async send(call: Call): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.options.headers, ...(await this.#credentialHeader()), ...call.headers };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    return this.#fetch(`${this.#base}${call.path}`, {
      method: call.method,
      headers,
      ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
      ...(call.signal === undefined ? {} : { signal: call.signal }),
    });
  }

  async #credentialHeader(): Promise<Record<string, string>> {
    const credential = this.options.credential;
    if (credential === undefined) return {};
    if ('bearer' in credential) return { authorization: `Bearer ${await reveal(credential.bearer)}` };
    return { 'x-api-key': await reveal(credential.apiKey) };
  }
}

async function reveal(secret: Secret): Promise<string> {
  return typeof secret === 'function' ? secret() : secret;
}

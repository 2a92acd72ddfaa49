/**
 * The HTTP API as the page calls it: same origin, relative to the page (so any control prefix
 * works), with the operator's credential as `Authorization: Bearer …` (an API key or a JWT,
 * both accepted there). Every refusal becomes an ApiError with the server's status, `code` and
 * `detail`, which the views show as they are.
 *
 * @module
 */

export type Status = 'PENDING' | 'PROCESSING' | 'COMPLETED' | 'FAILED' | 'TIMEOUT' | 'CANCELLED';
export const STATUSES: readonly Status[] = ['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'TIMEOUT', 'CANCELLED'];
export const TERMINAL: ReadonlySet<string> = new Set(['COMPLETED', 'FAILED', 'TIMEOUT', 'CANCELLED']);

export interface QueueRow {
  readonly name: string;
  readonly backend_queue: string;
  readonly weight: number;
  readonly concurrency: number | null;
  readonly depth: number;
  readonly delayed: number;
  readonly in_flight: number;
  readonly dead_letters: number;
  readonly oldest_waiting_seconds: number | null;
  readonly completed_last_minute: number;
  readonly failed_last_minute: number;
}

export interface QueueTable {
  readonly queues: readonly QueueRow[];
  readonly window: { readonly seconds: number; readonly scope: 'deployment' | 'process' };
}

export interface RequestSummary {
  readonly correlation_id: string;
  readonly status: Status;
  readonly submitted_at: string;
  readonly updated_at: string;
  readonly progress: number | null;
  readonly run_at?: string | null;
  readonly next_id?: string;
}

export interface RequestPage {
  readonly requests: readonly RequestSummary[];
  readonly next_cursor: string | null;
}

/** GET /api/v1/requests/{id}: status and result in one body. */
export interface RequestResource extends RequestSummary {
  readonly result: unknown;
  readonly headers: Record<string, string> | null;
  readonly status_code: number | null;
  readonly error: string | null;
  readonly error_code: string | null;
  readonly processing_time_ms: number | null;
  readonly completed_at: string | null;
}

export interface TrailEvent {
  readonly at: string;
  readonly from: Status | null;
  readonly to: Status;
  readonly attempt: number;
  readonly worker_id: string | null;
  readonly error: string | null;
  readonly kind?: 'replayed';
  readonly note?: { readonly kind: string; readonly detail?: Record<string, unknown> };
}

export interface DeadLetter {
  readonly id: string;
  readonly queue: string;
  readonly message_id: string;
  readonly correlation_id: string | null;
  readonly reason: string;
  readonly error_code: string | null;
  readonly attempts: number;
  readonly attempt_errors: ReadonlyArray<{ readonly attempt: number; readonly at: string; readonly error: string }>;
  readonly status: Status | null;
  readonly status_code: number | null;
  readonly dead_lettered_at: string;
}

export interface DeadLetterDetail extends DeadLetter {
  readonly tenant: string | null;
  readonly payload: unknown;
  readonly metadata: Record<string, unknown> | null;
  readonly header_names: readonly string[];
}

export interface DeadLetterPage {
  readonly queue: string;
  readonly dead_letters: readonly DeadLetter[];
  readonly next_cursor: string | null;
}

/** A refusal or failure of the API, as the server put it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    readonly detail: string,
    readonly body: unknown = null,
  ) {
    super(`${status}${code === null ? '' : ` ${code}`}: ${detail}`);
    this.name = 'ApiError';
  }

  /** 401 or 403: the credential is missing, wrong, or lacks the role. */
  get refused(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/** The error body of a refusal: `detail` is a string, or FastAPI's list of field issues. */
export function toApiError(status: number, body: unknown, fallback: string): ApiError {
  if (typeof body === 'object' && body !== null) {
    const { code, detail, message, error } = body as { code?: unknown; detail?: unknown; message?: unknown; error?: unknown };
    const text = typeof message === 'string' ? message : typeof detail === 'string' ? detail : typeof error === 'string' ? error : fallback;
    return new ApiError(status, typeof code === 'string' ? code : null, text, body);
  }
  return new ApiError(status, null, fallback, body);
}

export type Credential = () => string | null;

export interface Api {
  /** The absolute URL of an API path such as `api/v1/queues`. */
  url(path: string, query?: URLSearchParams): string;
  /** The headers that carry the credential, for requests the client makes itself (streams). */
  authHeaders(): Record<string, string>;
  get<T>(path: string, query?: URLSearchParams): Promise<T>;
  send<T>(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<T>;
  /** GET /api/v1/requests/{id}, whose HTTP status follows the request's end (a FAILED one is 502 with the request as body). */
  request(id: string): Promise<RequestResource>;
}

/** `base`: the URL the API paths are relative to (the page's parent). */
export function createApi(base: URL, credential: Credential, fetcher: typeof fetch = (input, init) => fetch(input, init)): Api {
  const url = (path: string, query?: URLSearchParams): string => {
    const target = new URL(path, base);
    if (query !== undefined) target.search = query.toString();
    return target.toString();
  };
  const authHeaders = (): Record<string, string> => {
    const value = credential();
    return value === null ? {} : { authorization: `Bearer ${value}` };
  };
  const call = async (method: string, path: string, init: { query?: URLSearchParams; body?: unknown } = {}): Promise<{ status: number; body: unknown }> => {
    const headers: Record<string, string> = { accept: 'application/json', ...authHeaders() };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetcher(url(path, init.query), { method, headers, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }), cache: 'no-store' });
    } catch (error) {
      throw new ApiError(0, null, `no answer from the server (${(error as Error).message})`);
    }
    const text = await res.text();
    let body: unknown = null;
    if (text !== '') {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        body = text;
      }
    }
    return { status: res.status, body };
  };
  const expectOk = <T>(answer: { status: number; body: unknown }): T => {
    if (answer.status >= 200 && answer.status < 300) return answer.body as T;
    throw toApiError(answer.status, answer.body, `the server answered ${answer.status}`);
  };
  return {
    url,
    authHeaders,
    get: async <T>(path: string, query?: URLSearchParams) => expectOk<T>(await call('GET', path, { query })),
    send: async <T>(method: 'POST' | 'DELETE', path: string, body?: unknown) => expectOk<T>(await call(method, path, { body })),
    request: async (id: string) => {
      const answer = await call('GET', `api/v1/requests/${encodeURIComponent(id)}`);
      const body = answer.body as Partial<RequestResource> | null;
      if (typeof body === 'object' && body !== null && typeof body.correlation_id === 'string') return body as RequestResource;
      throw toApiError(answer.status, answer.body, `the server answered ${answer.status}`);
    },
  };
}

/**
 * The shapes of the OpenHQM API the client sends and receives, written from the server's
 * OpenAPI document (openapi.json beside this package, generated from the app). Field names are
 * the wire's own (snake_case), so a body reads the same here, in curl and in the docs. The
 * package's contract test fails when a path or schema used here no longer matches the document.
 *
 * @module
 */

/** Every state a request can be in (docs/lifecycle.md). */
export const STATUSES = ['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'TIMEOUT', 'CANCELLED'] as const;
export type Status = (typeof STATUSES)[number];

/** The states a request never leaves. */
export const TERMINAL_STATUSES: readonly Status[] = ['COMPLETED', 'FAILED', 'TIMEOUT', 'CANCELLED'];

export function isTerminal(status: Status): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** The endings a webhook can be asked for (`metadata.callback_events`), and its `event` field. */
export const CALLBACK_EVENTS = ['request.completed', 'request.failed', 'request.timeout', 'request.cancelled'] as const;
export type CallbackEvent = (typeof CALLBACK_EVENTS)[number];

/** `metadata` options the server understands; any other key travels to the processor untouched. */
export interface SubmitMetadata {
  /** 0–9, higher first, or one of low, normal, high, urgent, critical. */
  readonly priority?: number | string;
  /** Seconds from submission until the deadline. */
  readonly timeout?: number;
  readonly retry_count?: number;
  /** Named endpoint or URL (proxy mode). */
  readonly endpoint?: string | null;
  readonly method?: string | null;
  /** Named queue (default "default"). */
  readonly queue?: string;
  readonly partition_key?: string | null;
  /** Where the signed webhook of the request's end goes. */
  readonly callback_url?: string | null;
  readonly callback_events?: readonly CallbackEvent[];
  /** Seconds to keep the request PENDING before it may run. Not with run_at. */
  readonly delay?: number | null;
  /** ISO 8601 time with offset before which it does not run. Not with delay. */
  readonly run_at?: string | null;
  /** A follow-up submitted once this request completes. */
  readonly then?: ThenStep;
}

export interface ThenStep {
  readonly payload?: Readonly<Record<string, unknown>>;
  readonly metadata?: (SubmitMetadata & Readonly<Record<string, unknown>>) | null;
  readonly queue?: string;
}

/** The body of POST /api/v1/submit (and each item of a batch). */
export interface SubmitRequest {
  readonly payload: Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>> | null;
  readonly metadata?: (SubmitMetadata & Readonly<Record<string, unknown>>) | null;
}

/** 202 of POST /api/v1/submit. */
export interface SubmitAccepted {
  readonly correlation_id: string;
  readonly status: Status;
  readonly submitted_at: string;
}

/** One item of the 202 of POST /api/v1/submit/batch. */
export interface BatchItem extends SubmitAccepted {
  /** Where this request's resource is (GET it, or DELETE it to cancel). */
  readonly location: string;
}

/** GET /api/v1/status/{id}. */
export interface StatusBody {
  readonly correlation_id: string;
  readonly status: Status;
  readonly submitted_at: string;
  readonly updated_at: string;
  /** Last progress (0–100) the processor reported. */
  readonly progress: number | null;
  /** When a delayed request becomes due; null when it was not delayed. */
  readonly run_at: string | null;
  /** The follow-up's id once it COMPLETED and chained one. */
  readonly next_id?: string;
}

/** GET /api/v1/response/{id}: the result once terminal (200), the status so far while not (202). */
export interface ResultBody {
  readonly correlation_id: string;
  readonly status: Status;
  /** The processor's result (any JSON); null until COMPLETED. */
  readonly result: unknown;
  readonly headers: Readonly<Record<string, string>> | null;
  /** HTTP status of the upstream answer (proxy mode). */
  readonly status_code: number | null;
  readonly error: string | null;
  /** Why it FAILED, timed out or was cancelled (docs/errors.md). */
  readonly error_code: string | null;
  readonly processing_time_ms: number | null;
  readonly completed_at: string | null;
  readonly next_id?: string;
}

/** The request resource (GET or DELETE /api/v1/requests/{id}): status and result together. */
export interface RequestBody extends StatusBody, ResultBody {
  readonly next_id?: string;
}

/** One entry of a request's trail, as the JSON trail lists it. */
export interface TrailEntry {
  readonly at: string;
  readonly from: string | null;
  readonly to: Status;
  readonly attempt: number;
  readonly worker_id: string | null;
  readonly error: string | null;
  /** On notes: something that happened without a status change (a webhook attempt, a follow-up). */
  readonly note?: { readonly kind?: string; readonly detail?: Readonly<Record<string, unknown>> };
  /** On the move a dead letter's replay made. */
  readonly kind?: 'replayed';
}

/** The `{detail, code}` body of every error answer. */
export interface ErrorBody {
  /** A sentence, or for 422 a list of `{loc, msg, type}` naming each bad field. */
  readonly detail: unknown;
  /** Stable HQM_ERR_* code (docs/errors.md). */
  readonly code: string;
  readonly message?: string;
}

/** A status (or note) event of the live trail: the trail entry with its id and sequence number. */
export interface TrailEvent extends TrailEntry {
  readonly correlation_id: string;
  /** 1-based position in the trail; the SSE event id. */
  readonly seq: number;
}

/** What `stream(id)` yields, in the order the server sends it; `result` is always last. */
export type StreamEvent =
  | { readonly type: 'status' | 'note'; readonly id: string; readonly data: TrailEvent }
  | { readonly type: 'progress'; readonly data: { readonly correlation_id: string; readonly progress: number } }
  | { readonly type: 'result'; readonly id: string; readonly data: ResultBody };

/**
 * JSON Schemas of the API: they validate requests (types, required fields), serialize
 * responses fast, and are the OpenAPI document served at /openapi.json. Range and enum checks
 * with friendlier messages live in validate.ts.
 *
 * @module
 */
import { MAX_CHAIN_LENGTH } from '../core/request/chain.js';
import { PRIORITY_NAMES } from '../core/request/envelope.js';
import { STATUSES } from '../core/request/lifecycle.js';

const nullableString = { type: ['string', 'null'] } as const;
const timestamp = { type: 'string', format: 'date-time' } as const;
const nullableTimestamp = { type: ['string', 'null'], format: 'date-time' } as const;
const status = { type: 'string', enum: [...STATUSES] } as const;

export const errorResponse = {
  type: 'object',
  description: 'An error. `detail` is a sentence, or for 422 a list of `{loc, msg, type}` naming each bad field.',
  properties: {
    detail: {},
    code: { type: 'string', description: 'Stable HQM_ERR_* code (see docs/errors.md)' },
    message: { type: 'string' },
  },
} as const;

export const submitBody = {
  type: 'object',
  required: ['payload'],
  properties: {
    payload: { type: 'object', description: 'Handed to the processor; the JSON body of the upstream call in proxy mode.' },
    headers: {
      type: ['object', 'null'],
      additionalProperties: { type: 'string' },
      description: 'HTTP headers for the processor (forwarded upstream in proxy mode).',
    },
    metadata: {
      type: ['object', 'null'],
      description: 'Processing options; keys not listed travel to the processor untouched.',
      properties: {
        priority: {
          type: ['integer', 'string'],
          description: `0–9, higher first (default 0), or one of ${Object.keys(PRIORITY_NAMES).join(', ')}.`,
        },
        timeout: { type: 'number', description: 'Seconds from submission until the deadline (default worker.timeout_seconds).' },
        retry_count: { type: 'integer', minimum: 0 },
        endpoint: { ...nullableString, maxLength: 2048, description: 'Named endpoint or URL (proxy mode).' },
        method: { ...nullableString, maxLength: 16, description: 'HTTP method override (proxy mode).' },
        queue: { type: 'string', description: 'Queue to run on (default "default").' },
        partition_key: { ...nullableString, maxLength: 1024 },
        callback_url: { ...nullableString, maxLength: 2048, description: 'Where the webhook of the request\'s end goes (signed per Standard Webhooks; see docs/webhooks.md).' },
        callback_events: {
          type: 'array',
          maxItems: 4,
          items: { type: 'string', enum: ['request.completed', 'request.failed', 'request.timeout', 'request.cancelled'] },
          description: 'Which ends call the webhook (default: all four).',
        },
        delay: { type: ['number', 'null'], description: 'Seconds to keep the request PENDING before it may run (0 to api.max_delay_seconds). Its timeout counts from then. Not with run_at.' },
        run_at: { ...nullableString, maxLength: 64, description: 'ISO 8601 time with its offset (2030-01-31T09:00:00Z) before which the request does not run; at most api.max_delay_seconds ahead, a past time runs at once. Its timeout counts from then. Not with delay.' },
        then: {
          type: 'object',
          description:
            'Chaining: once this request COMPLETES, submit a follow-up (same tenant) whose payload is `payload` with this result as `previous` (or the result itself without `payload`), with `metadata` (and `queue`, short for metadata.queue) checked as a submit\'s. ' +
            `A \`then\` inside \`metadata\` chains further, up to ${MAX_CHAIN_LENGTH} follow-ups. The follow-up's id is \`next_id\` in this request's status and result.`,
          properties: {
            payload: { type: 'object' },
            metadata: { type: ['object', 'null'] },
            queue: { type: 'string' },
          },
        },
      },
    },
  },
} as const;

/** The IETF httpapi draft's header, on submit and batch submit. */
export const idempotencyHeader = {
  type: 'object',
  properties: {
    'idempotency-key': {
      type: 'string',
      description: 'Makes a retried submit safe: the same key and body (same tenant, within api.idempotency_ttl_seconds) answer the first submit again (Idempotent-Replayed: true). A quoted sf-string ("k") or a bare value; 1–255 visible ASCII characters.',
    },
  },
} as const;

export const submitAccepted = {
  type: 'object',
  properties: { correlation_id: { type: 'string' }, status, submitted_at: timestamp },
} as const;

export const statusResponse = {
  type: 'object',
  properties: {
    correlation_id: { type: 'string' },
    status,
    submitted_at: timestamp,
    updated_at: timestamp,
    progress: { type: ['number', 'null'], description: 'Last progress (0–100) the processor reported.' },
    run_at: { ...nullableTimestamp, description: 'When a delayed request (metadata.delay or metadata.run_at) becomes due; null when it was not delayed.' },
    next_id: { type: 'string', description: 'Present once the request COMPLETED and chained a follow-up (metadata.then): the follow-up\'s correlation id.' },
  },
} as const;

export const resultResponse = {
  type: 'object',
  properties: {
    correlation_id: { type: 'string' },
    status,
    result: { description: 'The processor result (any JSON); null until COMPLETED.' },
    headers: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
    status_code: { type: ['integer', 'null'], description: 'HTTP status of the upstream answer (proxy mode).' },
    error: nullableString,
    error_code: { type: ['string', 'null'], description: 'Why the request FAILED, timed out or was cancelled, as a code of docs/errors.md.' },
    processing_time_ms: { type: ['integer', 'null'] },
    completed_at: nullableTimestamp,
    next_id: { type: 'string', description: 'Present once the request COMPLETED and chained a follow-up (metadata.then): the follow-up\'s correlation id.' },
  },
} as const;

/** The request resource: status and result in one body, whatever the HTTP status says. */
export const requestResponse = {
  type: 'object',
  properties: { ...statusResponse.properties, ...resultResponse.properties },
} as const;

/**
 * A finished request that did not complete answers 4xx/5xx with the request body; an error of
 * the call itself (a bad ?wait) has the same statuses, so the schema carries both shapes.
 */
export const requestOrErrorResponse = {
  type: 'object',
  description: 'The request body (FAILED, TIMEOUT, CANCELLED: the status of its `error_code`), or `{detail, code}` when the call itself failed.',
  properties: { ...requestResponse.properties, ...errorResponse.properties },
} as const;

/** A cancel that came too late: the error, and the status the request ended in. */
export const alreadyFinishedResponse = {
  type: 'object',
  properties: { ...errorResponse.properties, status },
} as const;

export const eventsResponse = {
  type: 'object',
  properties: {
    correlation_id: { type: 'string' },
    events: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          at: timestamp,
          from: { type: ['string', 'null'] },
          to: status,
          attempt: { type: 'integer' },
          worker_id: nullableString,
          error: nullableString,
          note: {
            type: 'object',
            description: 'Present on notes: something that happened without a status change (from and to are the status it happened in).',
            properties: { kind: { type: 'string' }, detail: { type: 'object', additionalProperties: true } },
          },
          kind: { type: 'string', enum: ['replayed'], description: 'Present on the move a dead letter\'s replay made (FAILED or TIMEOUT → PENDING).' },
        },
      },
    },
  },
} as const;

export const idParams = {
  type: 'object',
  properties: { correlation_id: { type: 'string', description: 'The id returned by submit.' } },
} as const;

export const waitQuery = {
  type: 'object',
  properties: {
    wait: { type: 'string', description: 'Seconds to wait for a terminal status before answering (long-poll), capped by api.max_wait_seconds.' },
  },
} as const;

export const healthResponse = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    version: { type: 'string' },
    timestamp,
    components: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

/** `GET /api/v1/requests`: all strings, checked by api/list-query.ts so each problem gets its own message. */
export const listQuery = {
  type: 'object',
  properties: {
    // No `enum` here: an unknown status is answered by list-query.ts with the valid ones listed.
    status: { type: 'string', description: `Only requests in this status: ${STATUSES.join(', ')}.` },
    queue: { type: 'string', description: 'Only requests of this queue (metadata.queue).' },
    tenant: { type: 'string', description: 'Admins only: only this tenant\'s requests.' },
    since: { type: 'string', description: 'Submitted at or after this ISO 8601 date or date-time (with a zone).' },
    until: { type: 'string', description: 'Submitted at or before this ISO 8601 date or date-time (with a zone).' },
    limit: { type: 'string', description: 'Most requests in the page: 1–1000, default 50.' },
    cursor: { type: 'string', description: '`next_cursor` of the previous page, unchanged.' },
  },
} as const;

export const listResponse = {
  type: 'object',
  properties: {
    requests: { type: 'array', items: statusResponse, description: 'Newest first; each as GET /api/v1/status/{id} answers it.' },
    next_cursor: { ...nullableString, description: 'Pass as `cursor` for the next page; null when there is none.' },
  },
} as const;

/**
 * JSON Schemas of the dead-letter routes (their OpenAPI document and fast serialization). Query
 * values stay strings (the API does not coerce types) and are checked in ids.ts.
 *
 * @module
 */
import { STATUSES } from '../../core/request/lifecycle.js';
import { submitBody } from '../schemas.js';

const nullableString = { type: ['string', 'null'] } as const;
const timestamp = { type: 'string', format: 'date-time' } as const;

const deadLetterProperties = {
  id: { type: 'string', description: 'The dead letter\'s id, `<queue>:<id in the queue\'s dead-letter store>`; opaque.' },
  queue: { type: 'string' },
  message_id: { type: 'string', description: 'The queue message id it had.' },
  correlation_id: { ...nullableString, description: 'The request it carries; null for a message that is not an OpenHQM request.' },
  reason: { type: 'string', description: 'Why it was dead-lettered: the last error.' },
  error_code: { ...nullableString, description: 'The request\'s error code (docs/errors.md), while its record is kept.' },
  attempts: { type: 'integer', description: 'Deliveries it had.' },
  attempt_errors: {
    type: 'array',
    description: 'Each failed attempt\'s error, oldest first, from the request\'s trail (since its last replay); empty once the record expired.',
    items: { type: 'object', properties: { attempt: { type: 'integer' }, at: timestamp, error: { type: 'string' } } },
  },
  status: { type: ['string', 'null'], enum: [...STATUSES, null], description: 'The request\'s status now; null when its record expired (a replay recreates it).' },
  status_code: { type: ['integer', 'null'], description: 'The last upstream HTTP status (proxy mode).' },
  dead_lettered_at: timestamp,
} as const;

export const deadLetterSummary = { type: 'object', properties: deadLetterProperties } as const;

export const deadLetterDetail = {
  type: 'object',
  properties: {
    ...deadLetterProperties,
    tenant: nullableString,
    payload: { description: 'The request\'s payload (null for a message that is not an OpenHQM request).' },
    metadata: { type: ['object', 'null'] },
    header_names: { type: 'array', items: { type: 'string' }, description: 'Names of the headers it carries; values are not shown (credentials).' },
  },
} as const;

export const deadLetterPage = {
  type: 'object',
  properties: {
    queue: { type: 'string' },
    dead_letters: { type: 'array', items: deadLetterSummary },
    next_cursor: { ...nullableString, description: 'Pass as `cursor` for the next, older page; null on the last.' },
  },
} as const;

export const deadLetterListQuery = {
  type: 'object',
  properties: {
    queue: { type: 'string', description: 'The queue (default "default").' },
    limit: { type: 'string', description: 'Dead letters per page, 1–100 (default 20).' },
    cursor: { type: 'string', description: 'The `next_cursor` of the previous page.' },
  },
} as const;

export const deadLetterPurgeQuery = {
  type: 'object',
  required: ['before'],
  properties: {
    queue: { type: 'string', description: 'The queue (default "default").' },
    before: { type: 'string', description: 'Removes those dead-lettered before this ISO 8601 time (required; a future time removes them all).' },
  },
} as const;

export const deadLetterParams = {
  type: 'object',
  properties: { id: { type: 'string', description: 'A dead letter\'s `id` from the list.' } },
} as const;

/** Every field optional: what is given replaces the dead request's, checked as a submit's. */
export const replayBody = {
  type: ['object', 'null'],
  properties: submitBody.properties,
} as const;

export const purged = {
  type: 'object',
  properties: { queue: { type: 'string' }, purged: { type: 'integer', description: 'How many dead letters were removed.' } },
} as const;

/**
 * The queue message: everything a worker needs to process a request, self-contained so any
 * backend can carry it as one opaque string. Version 1 is the shape in DESIGN.md §3.
 *
 * @module
 */
import { HqmError } from '../errors.js';
import { isoTime } from '../iso-time.js';
import { normalizeCorrelationId } from './ids.js';

export const ENVELOPE_VERSION = 1;

export const PRIORITY_MIN = 0;
export const PRIORITY_MAX = 9;
export const DEFAULT_QUEUE = 'default';

/**
 * Names the original project's examples use for priorities. 0 is the default and the floor
 * (messages without a priority are the lowest, as in AMQP), so `low` and `normal` coincide.
 */
export const PRIORITY_NAMES: Readonly<Record<string, number>> = { low: 0, normal: 0, high: 5, urgent: 9, critical: 9 };

export interface RequestMetadata {
  readonly priority: number;
  /** Seconds from submission until the request's deadline. */
  readonly timeout: number;
  readonly retry_count: number;
  readonly endpoint: string | null;
  readonly method: string | null;
  readonly queue: string;
  readonly partition_key: string | null;
  readonly callback_url: string | null;
  /** Keys the gateway does not interpret travel through to the processor untouched. */
  readonly [extra: string]: unknown;
}

/** An HTTP request captured as-is (sidecar mode). */
export interface CapturedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly body_encoding: 'utf8' | 'base64';
}

export interface Envelope {
  readonly v: typeof ENVELOPE_VERSION;
  readonly correlation_id: string;
  /** Submission time, ISO-8601. */
  readonly timestamp: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly metadata: RequestMetadata;
  readonly request: CapturedRequest | null;
  readonly traceparent: string | null;
  /**
   * The forwarding headers (`X-Forwarded-*`, `Forwarded`) the API decided for the hop the
   * request came in on; they replace any the client sent. Absent from messages of outside
   * producers and of earlier versions, whose headers are forwarded as they are.
   */
  readonly forwarding?: Readonly<Record<string, string>> | null;
  /** The submitting principal's tenant (auth.enabled); absent or null otherwise. Added in place: still version 1. */
  readonly tenant?: string | null;
  /**
   * The metadata keys normalizeMetadata interprets, as the client sent them (`"priority":
   * "high"`, not 5); keys it did not send are absent. Routing sees these (routingView), as the
   * original routed on what the client sent. Absent in envelopes of older versions.
   */
  readonly metadata_sent?: Readonly<Record<string, unknown>>;
  /**
   * When a delayed request (metadata.delay / metadata.run_at) becomes due, ISO-8601 (UTC), as
   * the API resolved it; absent or null when it is not delayed. Its deadline counts from here
   * (D100). Added in place: still version 1.
   */
  readonly run_at?: string | null;
}

export function encodeEnvelope(envelope: Envelope): string {
  return JSON.stringify(envelope);
}

/** A queue message: an envelope written by OpenHQM, or a bare JSON message from an outside producer. */
export type DecodedMessage = { readonly kind: 'envelope'; readonly envelope: Envelope } | { readonly kind: 'bare'; readonly payload: Readonly<Record<string, unknown>> };

/**
 * Decodes a queue message. A JSON object with a UUID `correlation_id` and an object `payload`
 * is an envelope; any other JSON is a bare message (an object is the payload, anything else
 * becomes `{value}`). Text that is not JSON, or an envelope of an unknown version, is refused
 * with HQM_ERR_MESSAGE_INVALID, which the worker dead-letters instead of retrying.
 */
export function decodeMessage(raw: string, defaults: { timeout: number; timestamp?: string | number }): DecodedMessage {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (cause) {
    throw invalid('message is not JSON', cause);
  }
  if (!isObject(value)) return { kind: 'bare', payload: { value } };
  if (value.v !== undefined && value.v !== ENVELOPE_VERSION) throw invalid(`unsupported envelope version ${JSON.stringify(value.v)}`);
  const id = typeof value.correlation_id === 'string' ? normalizeCorrelationId(value.correlation_id) : undefined;
  if (id === undefined || !isObject(value.payload)) return { kind: 'bare', payload: value };
  if (value.metadata !== undefined && value.metadata !== null && !isObject(value.metadata)) throw invalid('metadata is not a JSON object', undefined, id);
  if (value.headers !== undefined && value.headers !== null && !isObject(value.headers)) throw invalid('headers is not a JSON object', undefined, id);
  return {
    kind: 'envelope',
    envelope: {
      v: ENVELOPE_VERSION,
      correlation_id: id,
      timestamp: typeof value.timestamp === 'string' ? value.timestamp : defaultTimestamp(defaults.timestamp),
      payload: value.payload,
      headers: (value.headers ?? {}) as Record<string, string>,
      metadata: normalizeMetadata(value.metadata ?? {}, defaults),
      request: (value.request ?? null) as CapturedRequest | null,
      traceparent: typeof value.traceparent === 'string' ? value.traceparent : null,
      forwarding: isObject(value.forwarding) ? stringValues(value.forwarding) : null,
      tenant: typeof value.tenant === 'string' ? value.tenant : null,
      // An outside producer's envelope has none: what it wrote is what it sent.
      metadata_sent: isObject(value.metadata_sent) ? value.metadata_sent : sentMetadata(isObject(value.metadata) ? value.metadata : {}),
      run_at: typeof value.run_at === 'string' ? value.run_at : null,
    },
  };
}

/** A message's submission time when it carries none: given as text, or as epoch ms formatted only now; else the present. */
function defaultTimestamp(given: string | number | undefined): string {
  return typeof given === 'string' ? given : isoTime(given ?? Date.now());
}

function stringValues(record: Readonly<Record<string, unknown>>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/** The envelope of a bare message: a stable id, its payload, default metadata. */
export function wrapBare(payload: Readonly<Record<string, unknown>>, correlationId: string, enqueuedAt: number, defaults: { timeout: number }): Envelope {
  return {
    v: ENVELOPE_VERSION,
    correlation_id: correlationId,
    timestamp: new Date(enqueuedAt).toISOString(),
    payload,
    headers: {},
    metadata: normalizeMetadata({}, defaults),
    request: null,
    traceparent: null,
    tenant: null,
    metadata_sent: {},
  };
}

/** Longest deadline a request may have (a year); the API refuses more, other producers are capped. */
export const MAX_TIMEOUT_SECONDS = 365 * 24 * 3600;

/**
 * Fills in defaults for the metadata a client sent (already validated at the API edge).
 * Named priorities become numbers; unknown keys are kept for the processor.
 */
export function normalizeMetadata(input: Readonly<Record<string, unknown>>, defaults: { timeout: number }): RequestMetadata {
  // Known keys first, in a fixed order (one object shape for every request); extras after.
  const metadata: Record<string, unknown> = {
    priority: resolvePriority(input.priority),
    timeout: typeof input.timeout === 'number' && input.timeout > 0 ? Math.min(input.timeout, MAX_TIMEOUT_SECONDS) : defaults.timeout,
    retry_count: typeof input.retry_count === 'number' ? input.retry_count : 0,
    endpoint: typeof input.endpoint === 'string' ? input.endpoint : null,
    method: typeof input.method === 'string' ? input.method.toUpperCase() : null,
    queue: typeof input.queue === 'string' ? input.queue : DEFAULT_QUEUE,
    partition_key: typeof input.partition_key === 'string' ? input.partition_key : null,
    callback_url: typeof input.callback_url === 'string' ? input.callback_url : null,
  };
  for (const key in input) {
    if (!KNOWN_METADATA.has(key) && key !== '__proto__') metadata[key] = input[key];
  }
  return metadata as RequestMetadata;
}

const KNOWN_METADATA = new Set(['priority', 'timeout', 'retry_count', 'endpoint', 'method', 'queue', 'partition_key', 'callback_url']);

/** The keys normalizeMetadata interprets, as given (for Envelope.metadata_sent). */
export function sentMetadata(input: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const sent: Record<string, unknown> = {};
  for (const key of KNOWN_METADATA) if (Object.hasOwn(input, key)) sent[key] = input[key];
  return sent;
}

/**
 * The message routes see: the envelope with its metadata as the client sent it — the
 * interpreted keys from `metadata_sent` (a priority name stays a name, a default the gateway
 * filled in is absent), the others as they are. The live server (the envelope) and the route
 * simulator (a message as a client writes it) thus route the same message the same way.
 * Without `metadata_sent` the message is seen as it is.
 */
export function routingView(message: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { metadata_sent: sent, ...rest } = message;
  if (!isObject(sent) || !isObject(rest.metadata)) return sent === undefined ? { ...message } : rest;
  const metadata: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest.metadata)) if (!KNOWN_METADATA.has(key) && key !== '__proto__') metadata[key] = value;
  for (const [key, value] of Object.entries(sent)) if (KNOWN_METADATA.has(key)) metadata[key] = value;
  return { ...rest, metadata };
}

export function resolvePriority(value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value)) return Math.min(PRIORITY_MAX, Math.max(PRIORITY_MIN, value));
  if (typeof value === 'string') {
    const name = value.toLowerCase();
    return Object.hasOwn(PRIORITY_NAMES, name) ? (PRIORITY_NAMES[name] as number) : PRIORITY_MIN;
  }
  return PRIORITY_MIN;
}

/** What a request that ran out of time says, wherever the TIMEOUT is decided. */
export const DEADLINE_MESSAGE = 'the request deadline (metadata.timeout) passed before it completed';

/** Absolute deadline of a request: submission time (a delayed one's due time) plus metadata.timeout. */
export function deadlineOf(envelope: Pick<Envelope, 'timestamp' | 'metadata' | 'run_at'>): number {
  const submitted = Date.parse(envelope.timestamp);
  const start = dueAt(envelope) ?? (Number.isNaN(submitted) ? Date.now() : submitted);
  return start + envelope.metadata.timeout * 1000;
}

/** When a delayed request becomes due (epoch ms); null when it is not delayed. */
export function dueAt(envelope: Pick<Envelope, 'run_at'>): number | null {
  if (typeof envelope.run_at !== 'string') return null;
  const at = Date.parse(envelope.run_at);
  return Number.isNaN(at) ? null : at;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string, cause?: unknown, correlationId?: string): HqmError {
  return new HqmError('HQM_ERR_MESSAGE_INVALID', message, {
    cause,
    details: correlationId === undefined ? undefined : { correlation_id: correlationId },
  });
}

/**
 * W3C Trace Context (`traceparent`) as the gateway carries it: in the envelope, in a webhook
 * message, in outgoing headers. A header that does not parse is treated as absent, as the
 * specification asks of a receiver; nothing else about it is interpreted here.
 *
 * @module
 */

/** A parsed `traceparent`: lower-case hex ids and the sampled flag. */
export interface TraceParent {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

// version-traceid-parentid-flags; a later version may append fields after a dash.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** The parsed context, or undefined for anything the specification says to ignore. */
export function parseTraceparent(value: string | null | undefined): TraceParent | undefined {
  if (typeof value !== 'string' || value.length > 512) return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (match === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined];
  // ff is forbidden; version 00 has exactly four fields.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

/** A `traceparent` (version 00) for a context. */
export function formatTraceparent(context: TraceParent): string {
  return `00-${context.traceId}-${context.spanId}-${context.sampled ? '01' : '00'}`;
}

/** The header as received when it is valid (normalised to version 00), else null: what the envelope stores. */
export function validTraceparent(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const parsed = parseTraceparent(value);
  return parsed === undefined ? null : formatTraceparent(parsed);
}

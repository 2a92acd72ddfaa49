/**
 * What the MQTT bridge makes of one message (D272, D273), with no I/O: its correlation id and
 * either the payload of a request or the reason it is refused.
 *
 * @module
 */
import { findJsonProblem } from '../../../core/json-limits.js';
import { correlationIdFor, newCorrelationId } from '../../../core/request/ids.js';

export interface Limits {
  /** api.max_body_bytes: what a client may send over HTTP, a device may send over MQTT. */
  readonly maxBytes: number;
  /** api.max_json_depth */
  readonly maxDepth: number;
}

export type Bridged =
  | { readonly kind: 'request'; readonly id: string; readonly payload: Readonly<Record<string, unknown>> }
  | { readonly kind: 'refused'; readonly id: string; readonly reason: string };

/**
 * The id of a message that carries MQTT v5 correlation data is derived from it and its topic,
 * keyed with the deployment's id secret (as the worker keys bare messages' ids, D56): every
 * redelivery of it maps to the same request. Without correlation data there is nothing stable
 * to derive from, so it gets a fresh id and a redelivery is a second request (at-least-once).
 */
export function bridgedId(topic: string, correlationData: Buffer | undefined, secret: string): { id: string; stable: boolean } {
  if (correlationData === undefined || correlationData.length === 0) return { id: newCorrelationId(), stable: false };
  return { id: correlationIdFor(`mqtt\0${topic}\0${correlationData.toString('hex')}`, secret), stable: true };
}

/** A JSON object is the payload; any other JSON value becomes `{value}`, as for bare queue messages. */
export function readMessage(id: string, payload: Buffer, limits: Limits): Bridged {
  if (payload.length > limits.maxBytes) return { kind: 'refused', id, reason: `payload of ${payload.length} bytes is larger than api.max_body_bytes (${limits.maxBytes})` };
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (error) {
    return { kind: 'refused', id, reason: `payload is not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  const problem = findJsonProblem(value, limits.maxDepth, { forbidPrototypeKeys: true });
  if (problem !== undefined) return { kind: 'refused', id, reason: `payload refused: ${problem.path === '' ? '' : `${problem.path}: `}${problem.message}` };
  const object = typeof value === 'object' && value !== null && !Array.isArray(value);
  return { kind: 'request', id, payload: object ? (value as Record<string, unknown>) : { value } };
}

/**
 * The dead-letter routes' inputs: which queue (a logical name, as `metadata.queue`), the public
 * id `<queue>:<backend id>` (the queue's dead-letter stores number their letters separately),
 * page sizes and times. Every bad value is a 422 naming the field.
 *
 * @module
 */
import { ValidationError } from '../../core/errors.js';
import { DEFAULT_QUEUE } from '../../core/request/envelope.js';

export const DEFAULT_PAGE = 20;
export const MAX_PAGE = 100;

export interface DeadLetterRef {
  /** The logical queue name (what clients see). */
  readonly queue: string;
  /** The backend's queue name. */
  readonly backendQueue: string;
  /** The id in that queue's dead-letter store. */
  readonly id: string;
}

/** The queue a call names (`?queue=`), the default one when absent; unknown names are a 422. */
export function queueOf(raw: string | undefined, queues: ReadonlyMap<string, string>): { queue: string; backendQueue: string } {
  const queue = raw === undefined || raw === '' ? DEFAULT_QUEUE : raw;
  const backendQueue = queues.get(queue);
  if (backendQueue === undefined) throw new ValidationError([{ path: 'query.queue', message: `unknown queue "${queue}"; known: ${[...queues.keys()].join(', ')}` }]);
  return { queue, backendQueue };
}

export function publicId(queue: string, id: string): string {
  return `${queue}:${id}`;
}

/** The parts of a public id; undefined when it names no queue this API knows (a 404, like any unknown id). */
export function parseId(raw: string, queues: ReadonlyMap<string, string>): DeadLetterRef | undefined {
  const at = raw.lastIndexOf(':');
  if (at <= 0 || at === raw.length - 1) return undefined;
  const queue = raw.slice(0, at);
  const backendQueue = queues.get(queue);
  return backendQueue === undefined ? undefined : { queue, backendQueue, id: raw.slice(at + 1) };
}

export function parseLimit(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_PAGE;
  const n = /^\d{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_PAGE)) throw new ValidationError([{ path: 'query.limit', message: `must be an integer from 1 to ${MAX_PAGE}` }]);
  return n;
}

/** An ISO 8601 date (UTC midnight) or date-time with its zone (`Z`, `+02:00`) as epoch ms; a time without a zone is ambiguous and refused. */
export function parseTime(raw: string, path: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/i.test(raw) ? Date.parse(raw) : NaN;
  if (Number.isNaN(ms)) throw new ValidationError([{ path, message: 'must be an ISO 8601 date or time with its zone, such as 2026-01-31T12:00:00Z' }]);
  return ms;
}

/**
 * Named queues (`queues:` in the configuration): what a name may be, and which backend queue
 * (topic, stream) each one is. Pure: the worker and the API both derive names from here, so
 * they always agree.
 *
 * @module
 */
import { DEFAULT_QUEUE } from './request/envelope.js';

/**
 * Lower case, because environment names are case-insensitive (`OPENHQM_QUEUES__HIGH__WEIGHT`
 * names `high`): a queue only the file could name would be a trap.
 */
export const QUEUE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const QUEUE_NAME_RULE = 'expected a queue name: 1–64 lower-case letters, digits, "_" or "-", starting with a letter or digit';

/**
 * The backend queue of a named queue: `default` is `queue.request_queue_name` itself (so a
 * deployment without `queues:` and outside producers writing to that queue are unchanged);
 * any other is `<request_queue_name>.<name>` — a name every supported broker accepts, and
 * one that cannot collide with another queue's because `.` is not allowed in queue names.
 */
export function backendQueueName(requestQueueName: string, name: string): string {
  return name === DEFAULT_QUEUE ? requestQueueName : `${requestQueueName}.${name}`;
}

/** Names the gateway keeps for its own queues: a named queue may not take them. */
export const RESERVED_QUEUE_NAMES: readonly string[] = ['webhooks'];

/** The queue webhook deliveries wait on (D119): beside the named queues, under a reserved name. */
export function webhookQueueName(requestQueueName: string): string {
  return backendQueueName(requestQueueName, 'webhooks');
}

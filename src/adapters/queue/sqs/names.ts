/**
 * Which SQS queue serves an OpenHQM queue (D241). With `queue.sqs_queue_url`, that queue serves
 * `queue.request_queue_name` and every other queue is created beside it as `<its name>-<rest>`;
 * without it, each queue is named after its OpenHQM name. A FIFO url makes every queue FIFO.
 * Characters SQS refuses become `_`; a name too long keeps a hash of the whole. Pure.
 *
 * @module
 */
import { createHash } from 'node:crypto';

export interface NamingBase {
  /** The url's queue name without `.fifo`; empty when no url is configured. */
  readonly stem: string;
  readonly fifo: boolean;
  readonly url: string;
  readonly requestQueue: string;
}

const FIFO = '.fifo';
const MAX_NAME = 80;

export function namingBase(url: string, requestQueue: string): NamingBase {
  const name = url === '' ? '' : (url.replace(/\/$/, '').split('/').at(-1) ?? '');
  const fifo = name.endsWith(FIFO);
  return { stem: fifo ? name.slice(0, -FIFO.length) : name, fifo, url: url.replace(/\/$/, ''), requestQueue };
}

/** The SQS queue name of `queue`, `.fifo` included where the base is FIFO. */
export function sqsName(base: NamingBase, queue: string): string {
  if (base.stem !== '' && queue === base.requestQueue) return withSuffix(base, base.stem);
  const own = queue.startsWith(`${base.requestQueue}.`) && base.stem !== '' ? queue.slice(base.requestQueue.length + 1) : queue;
  return withSuffix(base, base.stem === '' ? own : `${base.stem}-${own}`);
}

/** The dead-letter queue of `queue`: also the target of its redrive policy. */
export function deadLetterName(base: NamingBase, queue: string): string {
  return withSuffix(base, `${stemOf(sqsName(base, queue))}-dlq`);
}

/** The queue whose tag keeps the deployment secret: FIFO whatever the base, its order decides the race (index.ts). */
export function secretName(base: NamingBase): string {
  return withSuffix({ ...base, fifo: true }, `${base.stem === '' ? 'openhqm' : base.stem}-secret`);
}

function stemOf(name: string): string {
  return name.endsWith(FIFO) ? name.slice(0, -FIFO.length) : name;
}

function withSuffix(base: NamingBase, raw: string): string {
  const room = MAX_NAME - (base.fifo ? FIFO.length : 0);
  let name = raw.replace(/[^A-Za-z0-9_-]/g, '_');
  if (name.length > room) {
    const hash = createHash('sha256').update(raw).digest('hex').slice(0, 12);
    name = `${name.slice(0, room - hash.length - 1)}-${hash}`;
  }
  return base.fifo ? `${name}${FIFO}` : name;
}

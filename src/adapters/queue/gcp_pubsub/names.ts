/**
 * Topic and subscription names of an OpenHQM queue. Pub/Sub takes 3–255 characters of letters,
 * digits and `-._~+%`, starting with a letter; any other character of a queue name is written
 * as `%XX`, so two queue names never share a topic.
 *
 * @module
 */

export interface QueueNames {
  /** Where the queue's messages are published. */
  readonly topic: string;
  /** The one subscription every worker of the queue pulls from (they share the work). */
  readonly work: string;
  /** The queue's dead letters. */
  readonly deadTopic: string;
  /** Holds the dead letters so they can be listed (never acknowledged but to drop one). */
  readonly deadLog: string;
}

export function queueNames(project: string, prefix: string, queue: string): QueueNames {
  const base = `${prefix}${encode(queue)}`;
  return {
    topic: `projects/${project}/topics/${base}`,
    work: `projects/${project}/subscriptions/${base}.work`,
    deadTopic: `projects/${project}/topics/${base}.dead`,
    deadLog: `projects/${project}/subscriptions/${base}.dead.log`,
  };
}

/** The topic whose labels hold the deployment secret. */
export function secretTopic(project: string, prefix: string): string {
  return `projects/${project}/topics/${prefix}secret`;
}

function encode(queue: string): string {
  return queue.replace(/[^A-Za-z0-9._~+-]/g, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}

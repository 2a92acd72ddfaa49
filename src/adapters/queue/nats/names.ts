/**
 * The streams, subjects and consumers of one queue. A queue name may hold `.` (a named queue is
 * `<request_queue_name>.<name>`), which a stream name refuses and a subject would split into
 * tokens, so it is escaped: `_` becomes `_5F` and `.` becomes `_2E` — reversible, so two queue
 * names never share a stream.
 *
 * @module
 */

/** Priority bands, highest first: each is a subject of the queue's stream with a consumer of its own. */
export const BANDS = ['high', 'mid', 'low'] as const;
export type Band = (typeof BANDS)[number];

/** The band of a priority 0–9: the named priorities (normal 0, high 5, urgent 9) fall in different bands. */
export function bandOf(priority: number): Band {
  return priority >= 7 ? 'high' : priority >= 4 ? 'mid' : 'low';
}

export interface QueueNames {
  /** The queue's work-queue stream: the three bands and the delayed subject. */
  readonly stream: string;
  /** The queue's dead-letter stream. */
  readonly deadStream: string;
  /** Where a band's messages are published; the low band is the bare `<subject_prefix>.<queue>`, where outside producers write. */
  readonly subject: Readonly<Record<Band, string>>;
  /** Delayed messages wait here until the mover republishes them to their band. */
  readonly delayed: string;
  readonly dead: string;
}

export const DELAYED_CONSUMER = 'hqm-delayed';

export function consumerOf(band: Band): string {
  return `hqm-${band}`;
}

export function escapeQueue(queue: string): string {
  return queue.replace(/[^A-Za-z0-9-]/g, (c) => `_${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export function queueNames(streamPrefix: string, subjectPrefix: string, queue: string): QueueNames {
  const token = escapeQueue(queue);
  const base = `${subjectPrefix}.${token}`;
  return {
    stream: `${streamPrefix}_${token}`,
    deadStream: `${streamPrefix}_${token}_DLQ`,
    subject: { high: `${base}.high`, mid: `${base}.mid`, low: base },
    delayed: `${base}.delayed`,
    dead: `${base}.dead`,
  };
}

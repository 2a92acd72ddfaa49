/**
 * The queue table of `openhqm top`: GET /api/v1/queues as lines for a terminal. Pure, so the
 * frame a person sees is tested without one.
 *
 * @module
 */
import { age, cell, table } from './format.js';

/** One queue as GET /api/v1/queues describes it (src/api/routes/queues.ts). */
export interface QueueRow {
  readonly name: string;
  readonly weight?: number;
  readonly depth: number;
  readonly delayed: number;
  readonly in_flight: number;
  readonly dead_letters: number;
  readonly oldest_waiting_seconds: number | null;
  readonly completed_last_minute: number;
  readonly failed_last_minute: number;
}

export interface QueuesAnswer {
  readonly queues: readonly QueueRow[];
  readonly window?: { readonly seconds?: number; readonly scope?: string };
}

/** The answer when it has the shape of GET /api/v1/queues; undefined when it is something else. */
export function asQueuesAnswer(body: unknown): QueuesAnswer | undefined {
  const queues = (body as { queues?: unknown } | null)?.queues;
  if (!Array.isArray(queues)) return undefined;
  const ok = queues.every((q: unknown) => typeof q === 'object' && q !== null && typeof (q as QueueRow).name === 'string' && typeof (q as QueueRow).depth === 'number');
  return ok ? (body as QueuesAnswer) : undefined;
}

const HEADERS = ['QUEUE', 'DEPTH', 'DELAYED', 'IN_FLIGHT', 'DEAD', 'OLDEST', 'DONE/MIN', 'FAILED/MIN', 'WEIGHT'];
const NUMERIC = new Set([1, 2, 3, 4, 5, 6, 7, 8]);

/** The table, a totals row when there are several queues, and what the per-minute counts cover. */
export function queuesTable(answer: QueuesAnswer): string[] {
  const rows = answer.queues.map((q) => [
    q.name,
    String(q.depth),
    String(q.delayed),
    String(q.in_flight),
    String(q.dead_letters),
    age(q.oldest_waiting_seconds),
    String(q.completed_last_minute),
    String(q.failed_last_minute),
    cell(q.weight),
  ]);
  if (answer.queues.length > 1) {
    const sum = (pick: (q: QueueRow) => number): string => String(answer.queues.reduce((n, q) => n + pick(q), 0));
    const oldest = Math.max(...answer.queues.map((q) => q.oldest_waiting_seconds ?? -1));
    rows.push(['(all)', sum((q) => q.depth), sum((q) => q.delayed), sum((q) => q.in_flight), sum((q) => q.dead_letters), oldest < 0 ? '-' : age(oldest), sum((q) => q.completed_last_minute), sum((q) => q.failed_last_minute), '']);
  }
  const { seconds = 60, scope } = answer.window ?? {};
  const covers = scope === 'process' ? 'the answering process only (memory store)' : 'every process sharing the result store';
  return [...table(HEADERS, rows, NUMERIC), '', `DONE/MIN and FAILED/MIN: about the last ${seconds}s, counted by ${covers}.`];
}

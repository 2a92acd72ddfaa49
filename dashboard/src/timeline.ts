/**
 * A request's audit trail (GET /api/v1/requests/{id}/events) told as a timeline a person reads:
 * submitted, each attempt with its worker and its error, retries, the end, replays from the dead
 * letters, webhook deliveries and follow-ups. Pure: unit-tested in timeline.test.ts.
 *
 * @module
 */
import type { TrailEvent } from './api.js';

export type Tone = 'info' | 'ok' | 'warn' | 'error';

export interface TimelineItem {
  readonly at: string;
  /** Milliseconds since the first entry. */
  readonly offsetMs: number;
  readonly title: string;
  /** A second line: the error, the worker, the webhook's answer; null when there is nothing to add. */
  readonly detail: string | null;
  readonly tone: Tone;
  /** The attempt the entry belongs to (0 before the first). */
  readonly attempt: number;
  /** A request this entry points to (a follow-up's id). */
  readonly link: string | null;
}

export function buildTimeline(events: readonly TrailEvent[]): TimelineItem[] {
  const first = events.length === 0 ? 0 : Date.parse(events[0]!.at);
  return events.map((event) => {
    const described = event.note === undefined ? describeTransition(event) : describeNote(event.note);
    return { at: event.at, offsetMs: Date.parse(event.at) - first, attempt: event.attempt, link: null, ...described };
  });
}

type Described = Pick<TimelineItem, 'title' | 'detail' | 'tone'> & { link?: string | null };

function describeTransition(event: TrailEvent): Described {
  const on = event.worker_id === null ? null : `on ${event.worker_id}`;
  if (event.kind === 'replayed') return { title: 'Replayed from the dead letters', detail: 'a fresh attempt budget and deadline', tone: 'info' };
  switch (event.to) {
    case 'PENDING':
      if (event.from === null) return { title: 'Submitted', detail: null, tone: 'info' };
      if (event.error !== null) return { title: `Attempt ${event.attempt} failed; to be retried`, detail: event.error, tone: 'warn' };
      return { title: 'Handed back to the queue', detail: on, tone: 'info' };
    case 'PROCESSING':
      return { title: `Attempt ${event.attempt} started`, detail: on, tone: 'info' };
    case 'COMPLETED':
      return { title: 'Completed', detail: on, tone: 'ok' };
    case 'FAILED':
      return { title: event.attempt > 0 ? `Failed on attempt ${event.attempt}` : 'Failed', detail: event.error, tone: 'error' };
    case 'TIMEOUT':
      return { title: 'Timed out', detail: event.error ?? 'its deadline passed', tone: 'error' };
    case 'CANCELLED':
      return { title: 'Cancelled', detail: event.error, tone: 'warn' };
  }
}

function describeNote(note: NonNullable<TrailEvent['note']>): Described {
  const detail = note.detail ?? {};
  const text = (key: string): string | null => {
    const value = detail[key];
    return typeof value === 'string' || typeof value === 'number' ? String(value) : null;
  };
  switch (note.kind) {
    case 'webhook':
      return describeWebhook(text);
    case 'chained':
      return { title: 'Follow-up submitted', detail: text('next_id'), tone: 'info', link: text('next_id') };
    case 'chain_refused':
      return { title: 'Follow-up refused', detail: JSON.stringify(detail.issues ?? detail), tone: 'warn' };
    case 'chain_failed':
      return { title: 'Follow-up could not be submitted', detail: [text('code'), text('error')].filter((t) => t !== null).join(': ') || null, tone: 'warn', link: text('next_id') };
    default:
      return { title: note.kind, detail: Object.keys(detail).length === 0 ? null : JSON.stringify(detail), tone: 'info' };
  }
}

const WEBHOOK_TONES: Readonly<Record<string, Tone>> = { queued: 'info', delivered: 'ok', retrying: 'warn', failed: 'error', redelivered: 'info' };

function describeWebhook(text: (key: string) => string | null): Described {
  const state = text('state') ?? 'noted';
  const event = text('event');
  const title = `Webhook${event === null ? '' : ` ${event}`} ${state}`;
  const parts = [
    text('url'),
    text('attempt') === null ? null : `delivery ${text('attempt')}`,
    text('status') === null ? null : `HTTP ${text('status')}`,
    text('latency_ms') === null ? null : `${text('latency_ms')} ms`,
    text('error'),
    text('retry_in_ms') === null ? null : `next try in ${Math.round(Number(text('retry_in_ms')) / 1000)} s`,
  ].filter((p): p is string => p !== null);
  return { title, detail: parts.length === 0 ? null : parts.join(' · '), tone: WEBHOOK_TONES[state] ?? 'info' };
}

export interface TrailSummary {
  /** Attempts started (each PENDING → PROCESSING). */
  readonly attempts: number;
  /** From submission to the first attempt's start; null before it started. */
  readonly queueWaitMs: number | null;
  /** From the first entry to the last status change. */
  readonly elapsedMs: number;
}

export function summarize(events: readonly TrailEvent[]): TrailSummary {
  const transitions = events.filter((e) => e.note === undefined);
  const first = transitions[0];
  const started = transitions.find((e) => e.to === 'PROCESSING');
  const last = transitions.at(-1);
  const at = (e: TrailEvent | undefined): number => (e === undefined ? 0 : Date.parse(e.at));
  return {
    attempts: transitions.filter((e) => e.to === 'PROCESSING').length,
    queueWaitMs: started === undefined || first === undefined ? null : at(started) - at(first),
    elapsedMs: at(last) - at(first),
  };
}

/**
 * Follows one request for a live stream (SSE or WebSocket): its audit trail from a given
 * sequence number on, each new event as it lands, progress while it runs, and its result,
 * after which it ends. Both transports show the same items; only the framing differs.
 *
 * An event's sequence number is its 1-based position in the trail, which only ever grows
 * (events are appended, never rewritten), so "everything after n" resumes without repeats.
 *
 * Each wake re-reads the record and the trail rather than trusting what the change feed
 * said: feeds may coalesce, reorder or (across processes) lag, but the store is the
 * authority, and reads are serialised per follower so no item is shown twice or out of order.
 *
 * @module
 */
import { isTerminal } from '../../core/request/lifecycle.js';
import type { RequestEvent, RequestRecord } from '../../core/request/record.js';
import { settleOverdue, type OverdueContext } from '../overdue.js';
import { presentEvents, presentResult } from '../present.js';
import type { StreamHub } from './stream-hub.js';

/** One trail entry: a transition (`status`), or an entry that records something else (`note`). */
export type EventItem = { readonly kind: 'status' | 'note'; readonly seq: number; readonly data: Readonly<Record<string, unknown>> };
export type TrailItem =
  | EventItem
  | { readonly kind: 'progress'; readonly data: { readonly correlation_id: string; readonly progress: number } }
  | { readonly kind: 'result'; readonly data: ReturnType<typeof presentResult> };

/** Why a follower ended: its result was shown, the record is gone (expired), or the store failed. */
export type TrailEnd = { readonly reason: 'result' | 'gone' } | { readonly reason: 'failed'; readonly error: unknown };

export interface TrailSink {
  item(item: TrailItem): void;
  /** Called once, unless the follower was stopped first. */
  end(end: TrailEnd): void;
}

/** Longest a timer may be set for in Node; a deadline further off is re-checked then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class TrailFollower {
  #sent: number;
  #progress: number | null = null;
  #running = false;
  #dirty = false;
  #stopped = false;
  #unwatch: (() => void) | undefined;
  #deadline: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: OverdueContext,
    private readonly hub: StreamHub,
    readonly id: string,
    /** Events up to this sequence number were already seen (Last-Event-ID); 0 for all. */
    afterSeq: number,
    private readonly sink: TrailSink,
  ) {
    this.#sent = afterSeq;
  }

  /** Watches first, then reads: a change that lands in between still wakes it. */
  start(): void {
    this.#unwatch = this.hub.watch(this.id, this.#wake);
    this.#wake();
  }

  /**
   * Reads again without a change to wake it. Streams call it at each heartbeat: a feed message
   * can be lost (Redis pub/sub while reconnecting) and some never cross processes (progress on
   * SQLite), so no stream waits forever on a message that will not come.
   */
  refresh(): void {
    this.#wake();
  }

  /** Stops following without telling the sink (the stream itself is going). Idempotent. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#deadline);
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  readonly #wake = (): void => {
    if (this.#stopped) return;
    if (this.#running) {
      this.#dirty = true;
      return;
    }
    this.#running = true;
    void this.#drain().finally(() => {
      this.#running = false;
    });
  };

  async #drain(): Promise<void> {
    do {
      this.#dirty = false;
      try {
        await this.#step();
      } catch (error) {
        this.#finish({ reason: 'failed', error });
      }
    } while (this.#dirty && !this.#stopped);
  }

  async #step(): Promise<void> {
    const found = await this.ctx.store.get(this.id);
    if (this.#stopped) return;
    if (found === undefined) return this.#finish({ reason: 'gone' });
    // A PENDING request past its deadline reads as TIMEOUT (as every read shows it), which ends the stream.
    const record = await settleOverdue(this.ctx, found);
    // Read after the record: the trail then holds at least the event that made its status.
    const events = await this.ctx.store.events(this.id);
    if (this.#stopped) return;
    for (; this.#sent < events.length && !this.#stopped; this.#sent += 1) {
      this.sink.item(eventItem(this.id, this.#sent + 1, events[this.#sent] as RequestEvent));
    }
    if (this.#stopped) return;
    if (isTerminal(record.status)) {
      this.sink.item({ kind: 'result', data: presentResult(record) });
      return this.#finish({ reason: 'result' });
    }
    if (record.status === 'PROCESSING' && record.progress !== null && record.progress !== this.#progress) {
      this.#progress = record.progress;
      this.sink.item({ kind: 'progress', data: { correlation_id: this.id, progress: record.progress } });
    }
    this.#armDeadline(record);
  }

  /** A PENDING request nobody consumes ends in TIMEOUT at its deadline, which no worker would write. */
  #armDeadline(record: RequestRecord): void {
    if (this.#deadline !== undefined || record.status !== 'PENDING' || record.deadlineAt === null) return;
    const ms = Math.min(MAX_TIMER_MS, Math.max(0, record.deadlineAt - Date.now()));
    this.#deadline = setTimeout(() => {
      this.#deadline = undefined;
      this.#wake();
    }, ms);
  }

  #finish(end: TrailEnd): void {
    if (this.#stopped) return;
    this.stop();
    this.sink.end(end);
  }
}

/**
 * An event as the JSON trail shows it, plus its id and sequence number. Entries that carry a
 * `note` (delivery attempts and the like, which move no status) are streamed as `note`.
 */
function eventItem(id: string, seq: number, event: RequestEvent): EventItem {
  const shown = presentEvents(id, [event]).events[0] as Record<string, unknown>;
  const note = (event as { readonly note?: unknown }).note;
  const data = { correlation_id: id, seq, ...shown, ...(note === undefined || 'note' in shown ? {} : { note }) };
  return { kind: note === undefined ? 'status' : 'note', seq, data };
}

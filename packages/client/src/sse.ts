/**
 * A Server-Sent Events parser (WHATWG HTML §9.2.6, "Interpreting an event stream"), small on
 * purpose: the client has no dependencies, and the server's streams are simple. Text goes in
 * as it arrives, split anywhere; whole events come out.
 *
 * Lines end in CRLF, LF or CR; `:` starts a comment (the heartbeat); `field: value` loses one
 * leading space; `data` lines are joined with LF; a blank line dispatches the event; an event
 * with no data is dropped; `id` is remembered across events (and ignored if it holds NUL), so
 * a reconnect can send it as Last-Event-ID.
 *
 * @module
 */

export interface SseEvent {
  /** The `event` field, `message` when absent. */
  readonly type: string;
  readonly data: string;
  /** The last event id seen so far on this stream (the spec's "last event ID buffer"). */
  readonly id: string;
}

export class SseParser {
  #buffer = '';
  #type = '';
  #data: string[] = [];
  #lastId = '';
  #started = false;
  /** The previous chunk ended in CR: an LF starting this one belongs to that line end. */
  #afterCr = false;

  constructor(lastEventId = '') {
    this.#lastId = lastEventId;
  }

  /** The id a reconnect sends as Last-Event-ID. */
  get lastEventId(): string {
    return this.#lastId;
  }

  /** Feeds decoded text; returns the events it completed. */
  push(text: string): SseEvent[] {
    let chunk = text;
    if (!this.#started && chunk.length > 0) {
      this.#started = true;
      if (chunk.startsWith('\uFEFF')) chunk = chunk.slice(1);
    }
    if (this.#afterCr && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.#afterCr = chunk.endsWith('\r');
    this.#buffer += chunk;
    const events: SseEvent[] = [];
    const lineEnd = /\r\n|\r|\n/g;
    let start = 0;
    for (let match = lineEnd.exec(this.#buffer); match !== null; match = lineEnd.exec(this.#buffer)) {
      // A CR at the very end may be the first half of a CRLF: it still ends the line.
      const event = this.#line(this.#buffer.slice(start, match.index));
      if (event !== undefined) events.push(event);
      start = match.index + match[0].length;
    }
    this.#buffer = this.#buffer.slice(start);
    return events;
  }

  #line(line: string): SseEvent | undefined {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#type = value;
    else if (field === 'data') this.#data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.#lastId = value;
    // `retry` and unknown fields: the client decides its own reconnect delay.
    return undefined;
  }

  #dispatch(): SseEvent | undefined {
    const type = this.#type === '' ? 'message' : this.#type;
    const data = this.#data;
    this.#type = '';
    this.#data = [];
    if (data.length === 0) return undefined;
    return { type, data: data.join('\n'), id: this.#lastId };
  }
}

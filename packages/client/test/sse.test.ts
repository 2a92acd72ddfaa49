/** The hand-written SSE parser against the WHATWG rules the server's streams (and any proxy's reframing) can exercise. */
import { describe, expect, it } from 'vitest';
import { SseParser, type SseEvent } from '../src/sse.js';

function parse(chunks: readonly string[], lastEventId?: string): SseEvent[] {
  const parser = new SseParser(lastEventId);
  return chunks.flatMap((chunk) => parser.push(chunk));
}

const STREAM = ': openhqm\n\nevent: status\nid: 1\ndata: {"seq":1}\n\n: heartbeat\n\nevent: progress\ndata: {"progress":40}\n\nevent: result\nid: result\ndata: {"status":"COMPLETED"}\n\n';
const EXPECTED: SseEvent[] = [
  { type: 'status', id: '1', data: '{"seq":1}' },
  // Progress has no id: the last one seen is kept (what a reconnect sends).
  { type: 'progress', id: '1', data: '{"progress":40}' },
  { type: 'result', id: 'result', data: '{"status":"COMPLETED"}' },
];

describe('SseParser', () => {
  it('reads the server’s stream: events with their ids, comments (heartbeats) skipped', () => {
    expect(parse([STREAM])).toEqual(EXPECTED);
  });

  it('gives the same events however the text is split, down to one character at a time', () => {
    expect(parse([...STREAM])).toEqual(EXPECTED);
    for (let cut = 1; cut < STREAM.length; cut += 7) expect(parse([STREAM.slice(0, cut), STREAM.slice(cut)])).toEqual(EXPECTED);
  });

  it('takes CRLF, CR and LF line ends, and a CRLF split between chunks is one line end', () => {
    const events = [{ type: 'message', id: '', data: 'a\nb' }];
    expect(parse(['data: a\r\ndata: b\r\n\r\n'])).toEqual(events);
    expect(parse(['data: a\rdata: b\r\r'])).toEqual(events);
    // Were the split CRLF two line ends, the blank line between would dispatch "a" alone.
    expect(parse(['data: a\r', '\ndata: b\r', '\n\r', '\n'])).toEqual(events);
  });

  it('joins data lines with LF, strips one leading space only, and takes a field without a colon', () => {
    expect(parse(['data:x\ndata:  two spaces\ndata\n\n'])).toEqual([{ type: 'message', id: '', data: 'x\n two spaces\n' }]);
  });

  it('drops an event without data, keeps its id, and ignores an id holding NUL', () => {
    expect(parse(['id: 7\nevent: status\n\ndata: later\n\nid: bad\0id\ndata: again\n\n'])).toEqual([
      { type: 'message', id: '7', data: 'later' },
      { type: 'message', id: '7', data: 'again' },
    ]);
  });

  it('strips a leading byte order mark, starts from the id it is given, and holds an unfinished event back', () => {
    const parser = new SseParser('3');
    expect(parser.push('\uFEFFevent: status\ndata: {}\n')).toEqual([]);
    expect(parser.lastEventId).toBe('3');
    expect(parser.push('\n')).toEqual([{ type: 'status', id: '3', data: '{}' }]);
    // A BOM later in the stream is data, not stripped.
    expect(parser.push('data: \uFEFF\n\n')).toEqual([{ type: 'message', id: '3', data: '\uFEFF' }]);
  });
});

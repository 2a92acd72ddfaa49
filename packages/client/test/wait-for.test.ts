/**
 * waitFor where a stream cannot be had: a server past api.max_streams (503), a proxy that
 * answers the stream with something else; and a caller's signal ending the wait.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { OpenHqmClient, type FetchLike } from '../src/index.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { ACME_KEY, collect, recordingFetch, rejection, startServer, type FetchCall } from './server.js';

const streamRequest = (call: FetchCall): boolean => call.url.endsWith('/events');
const pollRequest = (call: FetchCall): boolean => /\/api\/v1\/response\/[^/?]+\?wait=\d+$/.test(call.url);

describe('waitFor falls back to long-polling', () => {
  let noStreams: string;
  let streams: string;
  beforeAll(async () => {
    // The fallback is the API's behaviour, not a store's: the in-memory backends serve.
    noStreams = (await startServer({ queue: { type: 'memory' }, cache: { type: 'memory' }, api: { max_streams: 0 } })).url;
    streams = (await startServer({ queue: { type: 'memory' }, cache: { type: 'memory' } })).url;
  });

  it('when the server refuses the stream (503 past api.max_streams); stream() itself reports it with the server’s code', async () => {
    const calls: FetchCall[] = [];
    const hqm = new OpenHqmClient({ baseUrl: noStreams, credential: { apiKey: ACME_KEY }, fetch: recordingFetch(calls) });
    const { correlation_id: id } = await hqm.submit({ payload: { operation: 'uppercase', data: 'polled' } });
    expect(await hqm.waitFor(id)).toMatchObject({ status: 'COMPLETED', result: { output: 'POLLED' } });
    expect(calls.filter(streamRequest)).toHaveLength(1);
    expect(calls.some(pollRequest)).toBe(true);
    const refused = await rejection(collect(hqm.stream(id)));
    expect(refused).toMatchObject({ status: 503, code: 'HQM_ERR_OVERLOADED' });
  });

  it('when something in between answers the stream with a page that is not an event stream', async () => {
    const calls: FetchCall[] = [];
    const record = recordingFetch(calls);
    const proxy: FetchLike = async (url, init) => {
      const response = await record(url, init);
      if (!url.endsWith('/events')) return response;
      await response.body?.cancel();
      return new Response('<html>buffered by a proxy</html>', { status: 200, headers: { 'content-type': 'text/html' } });
    };
    const hqm = new OpenHqmClient({ baseUrl: streams, credential: { apiKey: ACME_KEY }, fetch: proxy });
    const { correlation_id: id } = await hqm.submit({ payload: { operation: 'reverse', data: 'proxied' } });
    expect(await hqm.waitFor(id)).toMatchObject({ status: 'COMPLETED', result: { output: 'deixorp' } });
    expect(calls.filter(streamRequest)).toHaveLength(1);
    expect(calls.some(pollRequest)).toBe(true);
  });

  it('when every stream ends before a single event: three tries, then HQM_CLIENT_STREAM_ENDED from stream() and a long-poll from waitFor', async () => {
    const calls: FetchCall[] = [];
    const record = recordingFetch(calls);
    const dropping: FetchLike = async (url, init) => {
      const response = await record(url, init);
      if (!url.endsWith('/events')) return response;
      await response.body?.cancel();
      return new Response('', { status: 200, headers: { 'content-type': 'text/event-stream' } });
    };
    const hqm = new OpenHqmClient({ baseUrl: streams, credential: { apiKey: ACME_KEY }, fetch: dropping });
    const { correlation_id: id } = await hqm.submit({ payload: { operation: 'uppercase', data: 'dropped' } });
    expect(await rejection(collect(hqm.stream(id)))).toMatchObject({ code: 'HQM_CLIENT_STREAM_ENDED' });
    expect(calls.filter(streamRequest)).toHaveLength(3);
    expect(await hqm.waitFor(id)).toMatchObject({ status: 'COMPLETED', result: { output: 'DROPPED' } });
    expect(calls.filter(streamRequest)).toHaveLength(6);
    expect(calls.some(pollRequest)).toBe(true);
  });

  it('does not spin when the server answers long-polls at once (api.max_waiters: 0): it waits out Retry-After', async () => {
    const url = (await startServer({ queue: { type: 'memory' }, cache: { type: 'memory' }, api: { max_streams: 0, max_waiters: 0 } })).url;
    const calls: FetchCall[] = [];
    const hqm = new OpenHqmClient({ baseUrl: url, credential: { apiKey: ACME_KEY }, fetch: recordingFetch(calls) });
    const { correlation_id: id } = await hqm.submit({ payload: { operation: 'sleep', seconds: 2 } });
    expect(await hqm.waitFor(id, { via: 'poll' })).toMatchObject({ status: 'COMPLETED' });
    // About one poll a second (Retry-After: 1) for the two seconds; without the pause, hundreds.
    expect(calls.filter(pollRequest).length).toBeLessThan(10);
  });

  it('ends with the caller’s signal, by stream or by poll, and the request goes on', async () => {
    for (const [url, via] of [
      [streams, 'sse'],
      [noStreams, 'poll'],
    ] as const) {
      const calls: FetchCall[] = [];
      const hqm = new OpenHqmClient({ baseUrl: url, credential: { apiKey: ACME_KEY }, fetch: recordingFetch(calls) });
      const { correlation_id: id } = await hqm.submit({ payload: { operation: 'sleep', seconds: 30 } });
      const controller = new AbortController();
      const waiting = hqm.waitFor(id, { signal: controller.signal, via }).then(
        () => undefined,
        (e: unknown) => e,
      );
      // Once it is waiting on the server (the stream, or a long-poll), not before it started.
      await waitFor(() => calls.some(via === 'sse' ? streamRequest : pollRequest), { what: `the ${via} wait to start` });
      controller.abort();
      expect(await waiting).toMatchObject({ name: 'AbortError' });
      expect((await hqm.status(id)).status).not.toBe('CANCELLED');
      await hqm.cancel(id);
    }
  });
});

/**
 * SSE and WebSocket on the real CLI, with the API and the worker in separate processes: the
 * result a stream shows is written by another process and reaches it through the store's
 * change feed (SQLite's file, Redis pub/sub). A heartbeat far longer than the test keeps the
 * periodic re-read out of it: only the feed can answer in time.
 */
import { once } from 'node:events';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startCli, submit, type CliProcess } from '../helpers/cli.js';
import { deleteKeys, REDIS_URL, requireRedis, testPrefix } from '../helpers/redis.js';
import { tempDir } from '../helpers/temp.js';
import { deferred, waitFor } from '../helpers/wait.js';

interface Seen {
  readonly type: string;
  readonly id: string;
  readonly data: Record<string, unknown>;
}

/** Every event of the stream until `result`. */
function streamOf(url: string, headers: Record<string, string> = {}): Promise<Seen[]> {
  const seen: Seen[] = [];
  const done = deferred<Seen[]>();
  const source = new EventSource(url, { fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...headers } }) });
  for (const type of ['status', 'progress', 'result']) {
    source.addEventListener(type, (event) => {
      seen.push({ type, id: event.lastEventId, data: JSON.parse(event.data) as Record<string, unknown> });
      if (type === 'result') {
        source.close();
        done.resolve(seen);
      }
    });
  }
  return done.promise;
}

async function splitProcesses(env: Record<string, string>): Promise<void> {
  const processes: CliProcess[] = [];
  try {
    const api = await startCli(['api'], env).ready();
    processes.push(api);
    const first = (await submit(api.url, { operation: 'uppercase', data: 'streamed' })).body.correlation_id as string;
    const second = (await submit(api.url, { operation: 'reverse', data: 'socket' })).body.correlation_id as string;
    const sse = streamOf(`${api.url}/api/v1/requests/${first}/events`);
    const socket = new WebSocket(`${api.url.replace(/^http/, 'ws')}/api/v1/ws`);
    const messages: Array<Record<string, unknown>> = [];
    socket.on('message', (data) => messages.push(JSON.parse((data as Buffer).toString('utf8')) as Record<string, unknown>));
    await once(socket, 'open');
    socket.send(JSON.stringify({ type: 'subscribe', ids: [second] }));
    await waitFor(() => messages.length > 0, { what: 'the subscription' });
    // Nothing has run yet: only the worker started now, in its own process, can finish them.
    processes.push(await startCli(['worker'], env).ready());
    const events = await sse;
    expect(events.map((e) => [e.type, e.id])).toEqual([
      ['status', '1'],
      ['status', '2'],
      ['status', '3'],
      ['result', 'result'],
    ]);
    expect(events[3]?.data).toMatchObject({ correlation_id: first, status: 'COMPLETED', result: { output: 'STREAMED' } });
    const result = await waitFor(() => messages.find((m) => m.type === 'result'), { what: 'the socket’s result' });
    expect(result).toMatchObject({ correlation_id: second, status: 'COMPLETED', result: { output: 'tekcos' } });
    socket.close();
    // Resume: after entry 2, only the last transition and the result.
    const resumed = await streamOf(`${api.url}/api/v1/requests/${first}/events`, { 'last-event-id': '2' });
    expect(resumed.map((e) => [e.type, e.id])).toEqual([
      ['status', '3'],
      ['result', 'result'],
    ]);
    for (const p of processes) p.kill('SIGTERM');
    for (const p of processes) expect((await p.exited).code).toBe(0);
  } finally {
    for (const p of processes) p.kill('SIGKILL');
  }
}

describe('live streams with the worker in another process', () => {
  const dir = tempDir();
  const prefix = testPrefix();
  afterAll(() => deleteKeys(prefix, { url: REDIS_URL }).catch(() => undefined));
  const quiet = { OPENHQM_API__STREAM_HEARTBEAT_SECONDS: '600' };

  it('SQLite: the SSE stream and the WebSocket show the result another process wrote', async () => {
    await splitProcesses({ ...quiet, OPENHQM_SQLITE__PATH: join(dir, 'streams.db') });
  }, 60_000);

  it('Redis: the same, through pub/sub', async (ctx) => {
    const missing = await requireRedis();
    if (missing !== undefined) return ctx.skip(missing.skip);
    await splitProcesses({
      ...quiet,
      OPENHQM_QUEUE__TYPE: 'redis',
      OPENHQM_CACHE__TYPE: 'redis',
      OPENHQM_QUEUE__REDIS_URL: REDIS_URL,
      OPENHQM_CACHE__REDIS_URL: REDIS_URL,
      OPENHQM_REDIS__KEY_PREFIX: prefix,
    });
  }, 60_000);
});

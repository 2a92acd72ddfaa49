/** Measurements every scenario makes: submit throughput against a server process, and end-to-end completion. */
import autocannon from 'autocannon';
import { BATCH_BODY, load, SUBMIT_BODY, type LoadOptions, type LoadResult } from './load.js';
import { sampleRss, startServer, type Server } from './process.js';
import { wrkAvailable, wrkLoad } from './wrk.js';

/** The load generators: autocannon (Node, in this process) and wrk (C, its own process). */
export type LoadTool = 'autocannon' | 'wrk';

/** The tools this machine has: wrk only when installed (`apt-get install wrk`). */
export const LOAD_TOOLS: readonly LoadTool[] = wrkAvailable() ? ['autocannon', 'wrk'] : ['autocannon'];

function loadWith(tool: LoadTool): (options: LoadOptions) => Promise<LoadResult> {
  return tool === 'wrk' ? wrkLoad : load;
}

export interface SubmitMeasurement {
  readonly label: string;
  readonly result: LoadResult;
  readonly rssMb: number;
}

/** The batch submit's load: BATCH_SIZE items per request. */
export const BATCH_SUBMIT = { path: '/api/v1/submit/batch', body: BATCH_BODY } as const;

/**
 * Batches in flight at once: each carries 1,000 items, so a few keep a server busy (50 would
 * hold 50,000 submits in flight and measure the backlog, not the throughput).
 */
export const BATCH_CONNECTIONS = 4;

/**
 * Starts `node [nodeArgs] args` (a server that logs its URL), warms it up for two seconds, then
 * POSTs the submit body (or `options.request`'s body to its path) with `connections` requests in
 * flight for `durationS`, with autocannon or (`tool`) wrk.
 */
export async function measureSubmit(
  label: string,
  server: { args: readonly string[]; env?: Record<string, string>; nodeArgs?: readonly string[] },
  options: { durationS: number; connections: number; request?: { readonly path: string; readonly body: string }; tool?: LoadTool },
): Promise<SubmitMeasurement> {
  const run = loadWith(options.tool ?? 'autocannon');
  // Ingress capacity is the figure: load shedding (api.max_queue_depth) would cut it at 100k waiting.
  const running = await startServer(server.args, { OPENHQM_API__MAX_QUEUE_DEPTH: '0', ...server.env }, server.nodeArgs ?? []);
  try {
    const url = `${running.url}${options.request?.path ?? '/api/v1/submit'}`;
    const body = options.request?.body ?? SUBMIT_BODY;
    await run({ url, body, connections: options.connections, durationS: 2 });
    const rss = sampleRss(running.child.pid as number);
    const result = await run({ url, body, connections: options.connections, durationS: options.durationS });
    return { label, result, rssMb: rss.stop() };
  } finally {
    await running.stop();
  }
}

/**
 * Submits `requests` echo requests with `connections` in flight to `server` and resolves with
 * the end-to-end rate once `completed()` reports them all done (checked every 50 ms).
 */
export async function measureEndToEnd(
  server: Server,
  options: { requests: number; connections: number; completed: () => Promise<number> | number; sampleRssOf?: readonly Server[] },
): Promise<{ perSecond: number; rssMb: number }> {
  const rss = (options.sampleRssOf ?? [server]).map((s) => sampleRss(s.child.pid as number));
  const started = performance.now();
  const submitted = load({ url: `${server.url}/api/v1/submit`, body: SUBMIT_BODY, connections: options.connections, amount: options.requests });
  // A submit that failed never completes: say so at once instead of waiting out the guard below.
  let refused: string | undefined;
  void submitted.then((s) => {
    if (s.non2xx > 0 || s.errors > 0) refused = `end-to-end submit saw ${s.non2xx} non-2xx and ${s.errors} errors`;
  }, (error: unknown) => {
    refused = `end-to-end submit failed: ${String(error)}`;
  });
  let done = 0;
  while (done < options.requests) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (refused !== undefined) throw new Error(refused);
    done = await options.completed();
    if (performance.now() - started > 600_000) throw new Error(`only ${done} of ${options.requests} completed in 10 minutes`);
  }
  const seconds = (performance.now() - started) / 1000;
  const submit = await submitted;
  if (submit.non2xx > 0 || submit.errors > 0) throw new Error(`end-to-end submit saw ${submit.non2xx} non-2xx and ${submit.errors} errors`);
  return { perSecond: options.requests / seconds, rssMb: Math.max(...rss.map((r) => r.stop())) };
}

/** GET /api/v1/response/{id} of one finished request (submitted with ?wait), with `connections` in flight. */
export async function measureResponseLatency(server: Server, options: { connections: number; durationS: number }): Promise<LoadResult> {
  const res = await fetch(`${server.url}/api/v1/submit?wait=5`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payload: { operation: 'echo', data: 'x' } }) });
  const { correlation_id: id } = (await res.json()) as { correlation_id: string };
  return load({ url: `${server.url}/api/v1/response/${id}`, body: '', method: 'GET', connections: options.connections, durationS: Math.max(3, Math.round(options.durationS / 2)) });
}

/** How a client learns the result of its request (the end-to-end figures "as clients see it"). */
export type ClientStyle = 'wait' | 'then-get';

export const CLIENT_STYLES: Readonly<Record<ClientStyle, string>> = {
  wait: 'POST /submit?wait=30 answers with the result',
  'then-get': 'POST /submit, then GET /response/{id}?wait=30',
};

export interface ClientsResult {
  /** Requests whose result a client held, per second. */
  readonly perSecond: number;
  /** Per HTTP call: the whole request for `wait`, each of the two calls for `then-get`. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Calls that did not end with the result (a 202 after the wait, an error status, a socket error). */
  readonly unfinished: number;
}

/**
 * `connections` clients each submit an echo request and learn its result, then the next,
 * `requests` requests in all, with autocannon; timed from the first submit to the last result.
 */
export async function measureClients(server: Server, options: { requests: number; connections: number; style: ClientStyle }): Promise<ClientsResult> {
  let unfinished = 0;
  // A result is a 200; a 202 means the wait ran out first.
  const finished = (status: number): void => {
    if (status !== 200) unfinished += 1;
  };
  const json = { 'content-type': 'application/json' };
  const requests: autocannon.Request[] =
    options.style === 'wait'
      ? [{ method: 'POST' as const, path: '/api/v1/submit?wait=30', headers: json, body: SUBMIT_BODY, onResponse: finished }]
      : [
          {
            method: 'POST' as const,
            path: '/api/v1/submit',
            headers: json,
            body: SUBMIT_BODY,
            onResponse: (status, body, context) => {
              if (status === 202) (context as { id?: string }).id = (JSON.parse(body) as { correlation_id: string }).correlation_id;
              else unfinished += 1;
            },
          },
          {
            method: 'GET' as const,
            setupRequest: (request, context) => ({ ...request, path: `/api/v1/response/${(context as { id?: string }).id ?? ''}?wait=30` }),
            onResponse: finished,
          },
        ];
  const calls = options.style === 'wait' ? options.requests : 2 * options.requests;
  const started = performance.now();
  const result = await autocannon({ url: server.url, connections: options.connections, amount: calls, requests, timeout: 60 });
  const seconds = (performance.now() - started) / 1000;
  return {
    perSecond: options.requests / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    unfinished: unfinished + result.errors + result.timeouts + result.non2xx,
  };
}

/** `?wait=30` clients with wrk for `durationS`: results per second, each call a whole request. */
export async function measureWaitingClientsWrk(server: Server, options: { connections: number; durationS: number }): Promise<LoadResult> {
  const url = `${server.url}/api/v1/submit?wait=30`;
  await wrkLoad({ url, body: SUBMIT_BODY, connections: options.connections, durationS: 2 });
  return wrkLoad({ url, body: SUBMIT_BODY, connections: options.connections, durationS: options.durationS });
}

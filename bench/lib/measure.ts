/** Measurements every scenario makes: submit throughput against a server process, and end-to-end completion. */
import { BATCH_BODY, load, SUBMIT_BODY, type LoadResult } from './load.js';
import { sampleRss, startServer, type Server } from './process.js';

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
 * flight for `durationS`.
 */
export async function measureSubmit(
  label: string,
  server: { args: readonly string[]; env?: Record<string, string>; nodeArgs?: readonly string[] },
  options: { durationS: number; connections: number; request?: { readonly path: string; readonly body: string } },
): Promise<SubmitMeasurement> {
  // Ingress capacity is the figure: load shedding (api.max_queue_depth) would cut it at 100k waiting.
  const running = await startServer(server.args, { OPENHQM_API__MAX_QUEUE_DEPTH: '0', ...server.env }, server.nodeArgs ?? []);
  try {
    const url = `${running.url}${options.request?.path ?? '/api/v1/submit'}`;
    const body = options.request?.body ?? SUBMIT_BODY;
    await load({ url, body, connections: options.connections, durationS: 2 });
    const rss = sampleRss(running.child.pid as number);
    const result = await load({ url, body, connections: options.connections, durationS: options.durationS });
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

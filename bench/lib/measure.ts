/** Measurements every scenario makes: submit throughput against a server process, and end-to-end completion. */
import { load, SUBMIT_BODY, type LoadResult } from './load.js';
import { sampleRss, startServer, type Server } from './process.js';

export interface SubmitMeasurement {
  readonly label: string;
  readonly result: LoadResult;
  readonly rssMb: number;
}

/**
 * Starts `node [nodeArgs] args` (a server that logs its URL), warms it up for two seconds, then
 * POSTs the submit body with `connections` requests in flight for `durationS`.
 */
export async function measureSubmit(
  label: string,
  server: { args: readonly string[]; env?: Record<string, string>; nodeArgs?: readonly string[] },
  options: { durationS: number; connections: number },
): Promise<SubmitMeasurement> {
  // Ingress capacity is the figure: load shedding (api.max_queue_depth) would cut it at 100k waiting.
  const running = await startServer(server.args, { OPENHQM_API__MAX_QUEUE_DEPTH: '0', ...server.env }, server.nodeArgs ?? []);
  try {
    const url = `${running.url}/api/v1/submit`;
    await load({ url, body: SUBMIT_BODY, connections: options.connections, durationS: 2 });
    const rss = sampleRss(running.child.pid as number);
    const result = await load({ url, body: SUBMIT_BODY, connections: options.connections, durationS: options.durationS });
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
  let done = 0;
  while (done < options.requests) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    done = await options.completed();
    if (performance.now() - started > 600_000) throw new Error(`only ${done} of ${options.requests} completed in 10 minutes`);
  }
  const seconds = (performance.now() - started) / 1000;
  const submit = await submitted;
  if (submit.non2xx > 0 || submit.errors > 0) throw new Error(`end-to-end submit saw ${submit.non2xx} non-2xx and ${submit.errors} errors`);
  return { perSecond: options.requests / seconds, rssMb: Math.max(...rss.map((r) => r.stop())) };
}

/** HTTP load with autocannon: a fixed duration, or a fixed number of requests. */
import autocannon from 'autocannon';

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly total: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly durationS: number;
}

export interface LoadOptions {
  readonly url: string;
  readonly body: string;
  readonly connections: number;
  readonly durationS?: number;
  readonly amount?: number;
  readonly method?: 'POST' | 'GET';
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    method: options.method ?? 'POST',
    headers: { 'content-type': 'application/json' },
    body: options.method === 'GET' ? undefined : options.body,
    connections: options.connections,
    ...(options.amount === undefined ? { duration: options.durationS ?? 10 } : { amount: options.amount }),
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    durationS: result.duration,
  };
}

/** About 200 bytes, like a small JSON job. */
export const SUBMIT_BODY = JSON.stringify({
  payload: { operation: 'echo', data: 'benchmark payload', user: { id: 123456, name: 'Ada Lovelace', email: 'ada@example.com' }, tags: ['a', 'b', 'c'] },
  metadata: { priority: 5, timeout: 300, source: 'bench' },
});

/** Items in one POST /api/v1/submit/batch of the batch figure: api.max_batch's default. */
export const BATCH_SIZE = 1000;

/** BATCH_SIZE copies of the submit body in one batch (about 200 kB). */
export const BATCH_BODY = JSON.stringify({ requests: Array.from({ length: BATCH_SIZE }, () => JSON.parse(SUBMIT_BODY) as unknown) });

/**
 * A real HTTP upstream for proxy tests (no mocks): records what it receives and answers per
 * path. Started on a free port; closed after the test file.
 *
 *   /echo            200 JSON {method, path, query, headers, body_base64}
 *   /status/<code>   that status, JSON body {status}; ?retry_after=<s> adds Retry-After
 *   /text            200 text/plain
 *   /binary          200 application/octet-stream, 256 bytes 0..255
 *   /large?bytes=N   200 with N bytes
 *   /slow?ms=N       answers after N ms
 *   /hold?ms=N       like /slow, tracking the most requests it held at once
 *   /programmed      answers what `program` says, call by call
 *   /ordered?ms=N    JSON body {key, seq}: holds N ms, recording when each call ran (see `calls`)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { afterAll } from 'vitest';

export interface Received {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  readonly at: number;
}

export interface Answer {
  readonly status: number;
  readonly headers?: Record<string, string | string[] | undefined>;
  readonly body?: string | Buffer;
}

export interface OrderedCall {
  /** The request's correlation id (X-Correlation-ID). */
  readonly id: string;
  readonly key: string;
  readonly seq: number;
  readonly start: number;
  end: number;
}

export interface Upstream {
  readonly url: string;
  readonly received: Received[];
  /** Calls of /ordered, in the order they started. */
  readonly calls: OrderedCall[];
  /** Most requests /hold had in progress at once. */
  readonly maxConcurrent: () => number;
  /** Decides the answer of /programmed calls (index: how many came before). */
  program: (call: number, request: Received) => Answer;
  close(): Promise<void>;
}

export const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

export async function startUpstream(): Promise<Upstream> {
  const received: Received[] = [];
  let holding = 0;
  let maxHeld = 0;
  let programmed = 0;
  const calls: OrderedCall[] = [];
  const upstream: Upstream = {
    url: '',
    received,
    calls,
    maxConcurrent: () => maxHeld,
    program: () => ({ status: 200, body: 'ok' }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  server.keepAliveTimeout = 60_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const [path = '/', query = ''] = (req.url ?? '/').split('?', 2) as [string, string?];
    const request: Received = { method: req.method ?? '', path, query: query ?? '', headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
    received.push(request);
    const params = new URLSearchParams(request.query);
    const send = (answer: Answer): void => {
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    };
    if (path === '/echo' || path.startsWith('/echo/')) {
      return send({
        status: 200,
        headers: { 'content-type': 'application/json', 'x-upstream': 'yes' },
        body: JSON.stringify({ method: request.method, path, query: request.query, headers: req.headers, body_base64: request.body.toString('base64') }),
      });
    }
    if (path.startsWith('/status/')) {
      const status = Number(path.slice('/status/'.length));
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (params.has('retry_after')) headers['retry-after'] = params.get('retry_after') ?? '';
      return send({ status, headers, body: JSON.stringify({ status }) });
    }
    if (path === '/text') return send({ status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'plain text, ünïcode' });
    if (path === '/binary') return send({ status: 200, headers: { 'content-type': 'application/octet-stream' }, body: BINARY });
    if (path === '/large') return send({ status: 200, headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(Number(params.get('bytes') ?? '0'), 7) });
    if (path === '/slow' || path === '/hold') {
      holding += 1;
      maxHeld = Math.max(maxHeld, holding);
      await new Promise((resolve) => setTimeout(resolve, Number(params.get('ms') ?? '100')));
      holding -= 1;
      return send({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ slept: true }) });
    }
    if (path === '/ordered') {
      const { key, seq } = JSON.parse(request.body.toString()) as { key: string; seq: number };
      const call: OrderedCall = { id: String(req.headers['x-correlation-id']), key, seq, start: performance.now(), end: Number.POSITIVE_INFINITY };
      calls.push(call);
      await new Promise((resolve) => setTimeout(resolve, Number(params.get('ms') ?? '20')));
      call.end = performance.now();
      return send({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key, seq }) });
    }
    if (path === '/programmed') {
      const answer = upstream.program(programmed, request);
      programmed += 1;
      return send(answer);
    }
    send({ status: 404, body: 'no such path' });
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('upstream did not bind');
  (upstream as { url: string }).url = `http://127.0.0.1:${address.port}`;
  return upstream;
}

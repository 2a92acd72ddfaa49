/**
 * A real OpenHQM for the client's tests: the composition root (`startApp`, API and worker in
 * this process, as `openhqm start` runs them) on a free loopback port, with API keys for two
 * tenants and webhooks signed with a known secret; stopped after the file's tests.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, expect } from 'vitest';
import { startApp, type RunningApp } from '../../../src/app/compose.js';
import { configSchema } from '../../../src/config/schema.js';
import { createLogger } from '../../../src/observability/logger.js';
import { OpenHqmError, type FetchLike, type StreamEvent } from '../src/index.js';

/** API keys (submit and read) of tenant `acme`, and one of tenant `other`. */
export const ACME_KEY = `hqm_test_acme_${randomBytes(12).toString('hex')}`;
export const OTHER_KEY = `hqm_test_other_${randomBytes(12).toString('hex')}`;
export const WEBHOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

export interface TestServer {
  readonly url: string;
  /** Error lines the server logged (shown when a test fails). */
  readonly errors: string[];
}

const running: RunningApp[] = [];
const receivers: Server[] = [];
afterAll(async () => {
  await Promise.all(running.splice(0).map((app) => app.stop()));
  await Promise.all(
    receivers.splice(0).map(async (server) => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    }),
  );
});

/** Starts API and worker on the given backends (a config fragment: queue, cache, sqlite, redis, api…). */
export async function startServer(backends: Record<string, unknown>): Promise<TestServer> {
  const errors: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      errors.push(chunk.toString('utf8'));
      done();
    },
  });
  const config = configSchema.parse({
    server: { host: '127.0.0.1', port: 0 },
    auth: {
      enabled: true,
      api_keys: [
        { id: 'acme', key: ACME_KEY, tenant: 'acme', roles: ['submit', 'read'] },
        { id: 'other', key: OTHER_KEY, tenant: 'other', roles: ['submit', 'read'] },
      ],
    },
    // The receiver is on loopback: let webhooks reach it.
    delivery: { webhooks: { secret: WEBHOOK_SECRET, allow_private: true } },
    ...backends,
    // The event-loop guard measures the CI machine's load, not the client (test/helpers/cli.ts).
    api: { max_event_loop_delay_ms: 0, ...(backends.api as Record<string, unknown> | undefined) },
  });
  const app = await startApp(config, { api: true, worker: true }, createLogger({ level: 'error', format: 'json', destination: sink }));
  running.push(app);
  if (app.url === undefined) throw new Error('the app reported no URL');
  return { url: app.url, errors };
}

export interface ReceivedWebhook {
  readonly body: Uint8Array;
  readonly headers: IncomingHttpHeaders;
}

/** An HTTP receiver keeping each call's raw body and headers; answers 204. */
export async function webhookReceiver(): Promise<{ url: string; calls: ReceivedWebhook[] }> {
  const calls: ReceivedWebhook[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      calls.push({ body: new Uint8Array(Buffer.concat(chunks)), headers: req.headers });
      res.writeHead(204).end();
    });
  });
  receivers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, calls };
}

export interface FetchCall {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
}

/** A fetch that records each call's method, URL and headers before passing it on. */
export function recordingFetch(calls: FetchCall[]): FetchLike {
  return (url, init) => {
    calls.push({ method: init.method ?? 'GET', url, headers: { ...(init.headers as Record<string, string>) } });
    return fetch(url, init);
  };
}

export async function collect(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const seen: StreamEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<OpenHqmError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OpenHqmError);
  return error as OpenHqmError;
}

/**
 * A webhook receiver for tests: a real HTTP server on a free port that verifies every call with
 * the `standardwebhooks` package (as a user's receiver would), records it, and answers what the
 * test programs (200 once the program runs out).
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterAll } from 'vitest';

export interface Call {
  readonly id: string;
  readonly timestamp: string;
  readonly signature: string;
  readonly body: Record<string, unknown>;
  /** Which of the receiver's secrets verified it (undefined: none did). */
  readonly verifiedBy: readonly number[];
  readonly path: string;
  /** The call's traceparent header ('' when it had none). */
  readonly traceparent: string;
}

export interface Reply {
  readonly status: number;
  readonly headers?: Record<string, string>;
}

export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.splice(0).map(async (s) => {
    s.closeAllConnections();
    s.close();
    await once(s, 'close');
  }));
});

export class WebhookReceiver {
  readonly calls: Call[] = [];
  /** Answers for the next calls, in order; 200 once empty. */
  readonly program: Reply[] = [];
  /** TCP connections accepted, calls or not. */
  connections = 0;
  #server: Server | undefined;
  #port = 0;

  constructor(readonly secrets: readonly string[]) {}

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hooks`;
  }

  get port(): number {
    return this.#port;
  }

  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => {
      void readBody(req).then((raw) => {
        const headers = { 'webhook-id': header(req, 'webhook-id'), 'webhook-timestamp': header(req, 'webhook-timestamp'), 'webhook-signature': header(req, 'webhook-signature') };
        const verifiedBy = this.secrets.flatMap((secret, i) => {
          try {
            new Webhook(secret).verify(raw, headers);
            return [i];
          } catch {
            return [];
          }
        });
        this.calls.push({ id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'], body: JSON.parse(raw) as Record<string, unknown>, verifiedBy, path: req.url ?? '', traceparent: header(req, 'traceparent') });
        const reply = this.program.shift() ?? { status: 200 };
        res.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
        res.end('ok');
      });
    });
    server.on('connection', () => {
      this.connections += 1;
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    this.#port = (server.address() as { port: number }).port;
    this.#server = server;
    servers.push(server);
    return this;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    servers.splice(servers.indexOf(server), 1);
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  }

  callsFor(correlationId: string): Call[] {
    return this.calls.filter((c) => c.body.correlation_id === correlationId);
  }
}

function header(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

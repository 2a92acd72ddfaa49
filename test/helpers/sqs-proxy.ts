/**
 * An HTTP proxy in front of a moto server, for the SQS outage tests (moto keeps its queues in
 * memory, so restarting it would lose them: an outage is this proxy cut and restored instead).
 * `cut()` closes the listener and every connection through it; `restore()` listens again on the
 * same port. `deny(action)` answers one SQS action with AccessDenied, as AWS does for a role that
 * lacks the permission, while every other action goes through.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface SqsProxy {
  readonly port: number;
  readonly url: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  /** Refuses requests of `action` (ReceiveMessage, …) with AccessDenied; undefined lets everything through. */
  deny(action: string | undefined): void;
  close(): Promise<void>;
}

export async function sqsProxy(targetPort: number): Promise<SqsProxy> {
  const sockets = new Set<Socket>();
  let denied: string | undefined;
  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const action = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '');
    if (denied !== undefined && action === denied) {
      req.resume();
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': 'AccessDenied;Sender' });
      res.end(JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', message: `not authorized to perform: sqs:${action}` }));
      return;
    }
    const upstream = request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };
  let server: Server | undefined;
  let port = 0;
  const listen = async (): Promise<void> => {
    const next = createServer(forward);
    next.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => resolve());
    });
    port = (next.address() as AddressInfo).port;
    server = next;
  };
  const cut = async (): Promise<void> => {
    const current = server;
    server = undefined;
    if (current === undefined) return;
    const closed = new Promise<void>((resolve) => current.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  await listen();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    cut,
    restore: () => (server === undefined ? listen() : Promise.resolve()),
    deny: (action) => {
      denied = action;
    },
    close: cut,
  };
}

/**
 * A TCP proxy on a port of its own that a test cuts and restores: while cut, nothing listens and
 * every connection through it is closed, as when a server goes away; restored, it listens on the
 * same port again. For servers that cannot be restarted without losing their state (the Pub/Sub
 * emulator keeps everything in memory).
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface CuttableProxy {
  readonly port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function cuttableProxy(host: string, port: number): Promise<CuttableProxy> {
  const sockets = new Set<Socket>();
  const open = (): Server =>
    createServer((client) => {
      const upstream = connect(port, host);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => sockets.delete(socket));
      }
      client.pipe(upstream).pipe(client);
    });
  let server: Server | undefined = open();
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const own = (server.address() as AddressInfo).port;
  const cut = async (): Promise<void> => {
    const closing = server;
    server = undefined;
    if (closing === undefined) return;
    const closed = new Promise<void>((resolve) => closing.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  return {
    port: own,
    cut,
    restore: async () => {
      if (server !== undefined) return;
      const next = open();
      await new Promise<void>((resolve, reject) => {
        next.once('error', reject);
        next.listen(own, '127.0.0.1', resolve);
      });
      server = next;
    },
    close: cut,
  };
}

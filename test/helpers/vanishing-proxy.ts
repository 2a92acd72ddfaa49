/**
 * A TCP proxy to a real server that a test makes vanish: a backend connected through it is then
 * a backend whose server cannot be reached (the conformance suites' `unreachable` case), without
 * stopping the server other suites share.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface VanishingProxy {
  /** The port to connect to instead of the server's. */
  readonly port: number;
  /** Closes the listener and every connection through it: the server is gone for its clients. */
  vanish(): void;
}

/** `listenPort`: the port to listen on (a proxy brought back where a vanished one was); any free one by default. */
export async function vanishingProxy(host: string, port: number, listenPort = 0): Promise<VanishingProxy> {
  const sockets = new Set<Socket>();
  const proxy = createServer((client) => {
    const upstream = connect(port, host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(listenPort, '127.0.0.1', resolve));
  return {
    port: (proxy.address() as AddressInfo).port,
    vanish: () => {
      proxy.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

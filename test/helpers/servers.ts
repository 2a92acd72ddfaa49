/**
 * Reaching the machine's real servers from tests. A test that needs a server it cannot reach
 * skips with a message naming it — except under CI=true, where that is a failure, so CI proves
 * every adapter every time.
 */
import { createServer, Socket } from 'node:net';

export const IN_CI = process.env.CI === 'true';

/** Resolves true when something accepts TCP connections at host:port. */
export function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.connect(port, host);
  });
}

/**
 * Returns undefined when the server answers; otherwise a skip reason naming it, or — under
 * CI=true — throws, failing the suite.
 */
export async function requireServer(name: string, host: string, port: number): Promise<{ skip: string } | undefined> {
  if (await reachable(host, port)) return undefined;
  const reason = `${name} is not reachable at ${host}:${port}`;
  if (IN_CI) throw new Error(`${reason} (CI=true: a missing server is a failure)`);
  return { skip: `${reason}; start it to run these tests` };
}

/** A TCP port nobody listens on right now (for servers a test starts itself). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

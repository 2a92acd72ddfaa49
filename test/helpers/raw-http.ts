/** HTTP as bytes on a socket, for requests no HTTP client would send (bad framing, cut bodies). */
import { connect } from 'node:net';

/** Sends `text` as is to 127.0.0.1:`port` and resolves with everything the server wrote before closing. */
export function rawHttp(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

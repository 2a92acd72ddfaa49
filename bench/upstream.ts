/**
 * A fast local upstream for the proxy benchmark: answers every request with a small JSON
 * body, after reading the request body. Started as its own process.
 */
import { createServer } from 'node:http';

const answer = JSON.stringify({ ok: true, service: 'bench-upstream' });
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, msg: 'upstream listening' })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

/**
 * A local OTLP/HTTP collector stand-in for the tracing benchmark: accepts every POST (the
 * exporter's batches), counts them and their bytes, and throws them away. GET /stats answers
 * `{posts, bytes}`. Started as its own process, as a collector would be.
 */
import { createServer } from 'node:http';

let posts = 0;
let bytes = 0;
const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ posts, bytes }));
    return;
  }
  req.on('data', (chunk: Buffer) => (bytes += chunk.length));
  req.on('end', () => {
    posts += 1;
    // An empty ExportTraceServiceResponse: no body, in protobuf as in JSON ('{}' is not needed).
    res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf', 'content-length': 0 });
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, msg: 'otlp sink listening' })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

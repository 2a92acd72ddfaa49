/**
 * The egress HTTP client: undici with one pooled Agent (keep-alive connections per origin),
 * a per-call timeout, a per-call response size cap enforced while the body streams in, and
 * failures translated to the error catalogue.
 *
 * @module
 */
import { HqmError } from '../../../core/errors.js';
import type { HttpClient, InboundHttpResponse, OutboundHttpRequest } from '../../../ports/http-client.js';
import { safeOrigin, timeout, translateUndiciError } from './errors.js';

export interface UndiciOptions {
  /** Connections kept per origin. */
  readonly maxConnections: number;
}

export async function createUndiciClient(options: UndiciOptions): Promise<HttpClient> {
  const undici = await import('undici');
  const agent = new undici.Agent({ connections: options.maxConnections, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });

  return {
    async send(outbound: OutboundHttpRequest): Promise<InboundHttpResponse> {
      const deadline = AbortSignal.timeout(outbound.timeoutMs);
      const signal = outbound.signal === undefined ? deadline : AbortSignal.any([outbound.signal, deadline]);
      try {
        const response = await undici.request(outbound.url, {
          method: outbound.method as 'GET',
          headers: outbound.headers,
          body: outbound.body,
          signal,
          dispatcher: agent,
          headersTimeout: outbound.timeoutMs,
          bodyTimeout: outbound.timeoutMs,
        });
        const body = await readCapped(response.body, outbound.maxResponseBytes, outbound.url, response.headers['content-length']);
        return { status: response.statusCode, headers: flattenHeaders(response.headers), body };
      } catch (error) {
        if (outbound.signal?.aborted === true) throw outbound.signal.reason;
        if (deadline.aborted) throw timeout(safeOrigin(outbound.url), outbound.timeoutMs, error);
        throw translateUndiciError(error, outbound.url, outbound.timeoutMs);
      }
    },
    async close() {
      await agent.close();
    },
  };
}

interface BodyStream extends AsyncIterable<Uint8Array> {
  destroy(error?: Error): void;
}

async function readCapped(body: BodyStream, max: number, url: string, contentLength: string | string[] | undefined): Promise<Buffer> {
  const declared = typeof contentLength === 'string' ? Number(contentLength) : Number.NaN;
  if (declared > max) {
    body.destroy();
    throw tooLarge(url, max, declared);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > max) {
      body.destroy();
      throw tooLarge(url, max);
    }
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
}

function tooLarge(url: string, max: number, size?: number): HqmError {
  const actual = size === undefined ? `more than ${max} bytes` : `${size} bytes`;
  return new HqmError('HQM_ERR_UPSTREAM_RESPONSE_TOO_LARGE', `the answer of ${safeOrigin(url)} is ${actual}, over proxy.max_response_size (${max} bytes)`, {
    details: { max, size },
  });
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    flat[name] = Array.isArray(value) ? value.join(name === 'set-cookie' ? '\n' : ', ') : value;
  }
  return flat;
}

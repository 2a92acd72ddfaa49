/**
 * The webhook sender: undici with its own Agent whose connector enforces the SSRF policy three
 * times per new connection — a literal address before connecting, the addresses a name resolves
 * to before connecting (so no packet goes to an internal address, not even a TCP handshake that
 * would let a caller probe ports), and finally the address the socket actually connected to,
 * before a byte of the request is written (so DNS rebinding between the checks cannot pass).
 * undici.request follows no redirect (a 3xx is an answer like any other).
 *
 * @module
 */
import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { HqmError } from '../../../core/errors.js';
import type { WebhookAnswer, WebhookPost, WebhookSender } from '../../../ports/webhook-sender.js';
import { safeOrigin, timeout, translateUndiciError } from './errors.js';

export interface WebhookSenderOptions {
  /** The SSRF policy: may a webhook for `host` use a connection to `address`? */
  readonly mayConnect: (host: string, address: string) => boolean;
  /** Connections kept per receiver origin. */
  readonly maxConnections: number;
  /** Name resolution (tests map a name to 127.0.0.1); the system's dns.lookup when unset. */
  readonly lookup?: LookupFunction;
}

/** Most bytes of a receiver's answer read (then the rest is dropped with the connection). */
const ANSWER_READ_BYTES = 4096;

export async function createWebhookSender(options: WebhookSenderOptions): Promise<WebhookSender> {
  const undici = await import('undici');
  const base = undici.buildConnector({ lookup: guardedLookup(options.lookup ?? dnsLookup, options.mayConnect) });
  const agent = new undici.Agent({
    connections: options.maxConnections,
    keepAliveTimeout: 10_000,
    connect: (connectOptions, callback) => {
      const literal = connectOptions.hostname.replace(/^\[(.*)\]$/, '$1');
      if (isIP(literal) !== 0 && !options.mayConnect(connectOptions.hostname, literal)) return callback(refused(connectOptions.hostname, literal), null);
      base(connectOptions, (error, socket) => {
        if (error !== null) return callback(error, null);
        const address = socket.remoteAddress ?? '';
        if (options.mayConnect(connectOptions.hostname, address)) return callback(null, socket);
        socket.destroy();
        callback(refused(connectOptions.hostname, address), null);
      });
    },
  });

  return {
    async post(outbound: WebhookPost): Promise<WebhookAnswer> {
      const deadline = AbortSignal.timeout(outbound.timeoutMs);
      try {
        const response = await undici.request(outbound.url, {
          method: 'POST',
          headers: outbound.headers,
          body: outbound.body,
          signal: deadline,
          dispatcher: agent,
          headersTimeout: outbound.timeoutMs,
          bodyTimeout: outbound.timeoutMs,
        });
        await drain(response.body);
        const retryAfter = response.headers['retry-after'];
        return { status: response.statusCode, retryAfter: typeof retryAfter === 'string' ? retryAfter : null };
      } catch (error) {
        const cause = refusalIn(error);
        if (cause !== undefined) throw cause;
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

/** Reads the answer up to the cap and discards it; a longer one loses its connection instead of being read. */
async function drain(body: BodyStream): Promise<void> {
  let total = 0;
  try {
    for await (const chunk of body) {
      total += chunk.byteLength;
      if (total > ANSWER_READ_BYTES) {
        body.destroy();
        return;
      }
    }
  } catch {
    // The status is what counts; a body cut short after it does not undo the delivery.
  }
}

type LookupAddress = { address: string; family: number };

/** `lookup` answering only the addresses the policy allows for the host; none left is a refusal. */
function guardedLookup(lookup: LookupFunction, mayConnect: WebhookSenderOptions['mayConnect']): LookupFunction {
  return ((hostname: string, lookupOptions: object, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    const all = (lookupOptions as { all?: boolean }).all === true;
    lookup(hostname, { ...lookupOptions, all: true }, (error, found) => {
      if (error !== null) return callback(error, all ? [] : '');
      const addresses = found as unknown as LookupAddress[];
      const allowed = addresses.filter((a) => mayConnect(hostname, a.address));
      const first = allowed[0];
      if (first === undefined) return callback(refused(hostname, addresses.map((a) => a.address).join(', ')), all ? [] : '');
      if (all) return callback(null, allowed);
      callback(null, first.address, first.family);
    });
  });
}

function refused(host: string, address: string): HqmError {
  return new HqmError('HQM_ERR_WEBHOOK_REFUSED', `${host} resolved to ${address}, an address webhooks may not reach (delivery.webhooks.allow_private or allowed_hosts opens it)`, {
    details: { host, address },
  });
}

/** undici wraps a connector's error in its own; the refusal is found where it sits in the chain. */
function refusalIn(error: unknown): HqmError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth += 1) {
    if (current instanceof HqmError && current.code === 'HQM_ERR_WEBHOOK_REFUSED') return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

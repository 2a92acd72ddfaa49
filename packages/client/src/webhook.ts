/**
 * Verifying OpenHQM's webhooks, which are signed per the Standard Webhooks specification:
 * `webhook-signature` holds one or more space-separated `v1,<base64 HMAC-SHA256>` of
 * `"{webhook-id}.{webhook-timestamp}.{raw body}"`, one per signing key during a rotation.
 *
 * WebCrypto only (Node's global `crypto`, browsers, edge runtimes): the comparison is
 * `crypto.subtle.verify`, which recomputes the MAC and compares in constant time, so no
 * hand-written compare can leak how much of a forged signature was right.
 *
 * @module
 */
import type { ResultBody, CallbackEvent } from './types.js';

/** The body of a webhook: the request's /response body at its end, plus `event`. */
export type WebhookEvent = ResultBody & {
  readonly event: CallbackEvent;
  /** The body would have exceeded delivery.webhooks.max_body_bytes: fetch the result instead. */
  readonly result_omitted?: boolean;
};

export type WebhookFailure = 'missing_headers' | 'bad_timestamp' | 'stale' | 'bad_signature' | 'bad_body';

export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  constructor(
    readonly reason: WebhookFailure,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Node's `req.headers`, a fetch `Headers`, or any object mapping names (in any case) to a value
 * or a list of values. Typed as `object` so an interface-typed map is taken as it is.
 */
export type WebhookHeaders = Headers | object;

/** A `whsec_…` secret (base64 after the prefix, as OpenHQM's configuration takes it), or the key's raw bytes. */
export type WebhookSecret = string | Uint8Array;

export interface VerifyOptions {
  /** How far the timestamp may be from now, either way (default 300 s, as the specification advises). */
  readonly toleranceSeconds?: number;
}

const DEFAULT_TOLERANCE_SECONDS = 300;
/** More candidates than any rotation needs are not checked: each costs an HMAC. */
const MAX_SIGNATURES = 16;

/**
 * Checks that OpenHQM signed `body` (the raw bytes or text received, before any parsing) and
 * that it is fresh, and returns it parsed. Several secrets may be given while the receiver
 * rotates keys: any one that verifies is enough. Throws `WebhookVerificationError` otherwise.
 * De-duplicate on `webhook-id`: it is the same on every retry of one ending.
 */
export async function verifyWebhook(body: string | Uint8Array, headers: WebhookHeaders, secret: WebhookSecret | readonly WebhookSecret[], options: VerifyOptions = {}): Promise<WebhookEvent> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (id === undefined || timestamp === undefined || signatures === undefined) {
    throw new WebhookVerificationError('missing_headers', 'webhook-id, webhook-timestamp and webhook-signature are all required');
  }
  if (!/^\d{1,12}$/.test(timestamp)) throw new WebhookVerificationError('bad_timestamp', 'webhook-timestamp is not a number of seconds');
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const skew = Math.floor(Date.now() / 1000) - Number(timestamp);
  if (skew > tolerance) throw new WebhookVerificationError('stale', 'webhook-timestamp is too old');
  if (-skew > tolerance) throw new WebhookVerificationError('stale', 'webhook-timestamp is too far in the future');

  const raw = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const signed = concat(new TextEncoder().encode(`${id}.${timestamp}.`), raw);
  const candidates = signatures
    .split(' ')
    .slice(0, MAX_SIGNATURES)
    .flatMap((s) => (s.startsWith('v1,') ? [fromBase64(s.slice(3))] : []))
    .filter((s): s is Uint8Array<ArrayBuffer> => s !== undefined);
  const keys = await Promise.all((Array.isArray(secret) ? (secret as readonly WebhookSecret[]) : [secret as WebhookSecret]).map(hmacKey));
  let verified = false;
  // Every pair is tried, whatever matched first: the time taken tells nothing about which did.
  for (const key of keys) {
    for (const candidate of candidates) {
      if (await crypto.subtle.verify('HMAC', key, candidate, signed)) verified = true;
    }
  }
  if (!verified) throw new WebhookVerificationError('bad_signature', 'no signature matches');
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw)) as WebhookEvent;
  } catch (error) {
    throw new WebhookVerificationError('bad_body', `the signed body is not JSON: ${(error as Error).message}`);
  }
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  let value: unknown;
  if (headers instanceof Headers) value = headers.get(name);
  else {
    const record = headers as Readonly<Record<string, unknown>>;
    value = record[name] ?? Object.entries(record).find(([key]) => key.toLowerCase() === name)?.[1];
  }
  const text = typeof value === 'string' ? value : Array.isArray(value) && value.every((v) => typeof v === 'string') ? value.join(' ') : undefined;
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}

/** The key type of whichever WebCrypto typings are in scope (the DOM's, or Node's). */
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

async function hmacKey(secret: WebhookSecret): Promise<HmacKey> {
  const bytes = typeof secret === 'string' ? fromBase64(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret) : new Uint8Array(secret);
  if (bytes === undefined || bytes.length === 0) throw new TypeError('the webhook secret is not a whsec_ secret (base64 after the prefix)');
  return crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

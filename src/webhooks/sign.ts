/**
 * Standard Webhooks signatures, made by the `standardwebhooks` package (the reference
 * implementation receivers verify with): `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
 * one per active secret, space-separated, so a receiver holding either key of a rotation
 * verifies the message unchanged.
 *
 * @module
 */
import { Webhook } from 'standardwebhooks';

export interface SignedHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

export class WebhookSigner {
  readonly #keys: readonly Webhook[];

  /** `secrets`: `whsec_<base64>` strings (delivery.webhooks.secret), the current one first. */
  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error('a webhook signer needs at least one secret');
    this.#keys = secrets.map((secret) => new Webhook(secret));
  }

  sign(id: string, at: Date, body: string): SignedHeaders {
    const signature = this.#keys.map((key) => key.sign(id, at, body)).join(' ');
    return { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature };
  }
}

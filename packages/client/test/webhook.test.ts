/**
 * verifyWebhook against signatures made by the `standardwebhooks` package (the reference
 * implementation, which OpenHQM's signer uses) and by OpenHQM's own signer.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { WebhookSigner } from '../../../src/webhooks/sign.js';
import { verifyWebhook, WebhookVerificationError, type WebhookFailure } from '../src/webhook.js';

const secret = (): string => `whsec_${randomBytes(32).toString('base64')}`;
const BODY = JSON.stringify({ event: 'request.completed', correlation_id: 'c-1', status: 'COMPLETED', result: { output: 'HI' } });

function signed(key: string, body = BODY, at = new Date(), id = 'msg_1'): Record<string, string> {
  return { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(key).sign(id, at, body) };
}

async function failure(promise: Promise<unknown>): Promise<WebhookFailure> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(WebhookVerificationError);
  return (error as WebhookVerificationError).reason;
}

describe('verifyWebhook', () => {
  it('accepts what standardwebhooks signs and returns the parsed body', async () => {
    const key = secret();
    const event = await verifyWebhook(BODY, signed(key), key);
    expect(event).toMatchObject({ event: 'request.completed', correlation_id: 'c-1', result: { output: 'HI' } });
  });

  it('takes the body as bytes, headers as a fetch Headers or in any case, and the secret without its prefix or as raw bytes', async () => {
    const key = secret();
    const headers = signed(key);
    const bytes = new TextEncoder().encode(BODY);
    const raw = Buffer.from(key.slice('whsec_'.length), 'base64');
    await expect(verifyWebhook(bytes, new Headers(headers), key)).resolves.toMatchObject({ correlation_id: 'c-1' });
    const shouted = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    await expect(verifyWebhook(BODY, shouted, key.slice('whsec_'.length))).resolves.toMatchObject({ correlation_id: 'c-1' });
    await expect(verifyWebhook(BODY, headers, new Uint8Array(raw))).resolves.toMatchObject({ correlation_id: 'c-1' });
  });

  it('verifies the bytes as received: a body that is not UTF-8 text is checked byte for byte', async () => {
    const key = secret();
    const body = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3, 0xa9]), Buffer.from('"}')]);
    const headers = signed(key, body.toString('utf8'));
    await expect(verifyWebhook(new Uint8Array(body), headers, key)).resolves.toEqual({ a: 'é' });
    const altered = Buffer.from(body);
    altered[6] = 0xc4;
    expect(await failure(verifyWebhook(new Uint8Array(altered), headers, key))).toBe('bad_signature');
  });

  it('accepts any one of several signatures (the sender rotating keys) and any one of several secrets (the receiver rotating)', async () => {
    const [oldKey, newKey, other] = [secret(), secret(), secret()];
    const both = new WebhookSigner([newKey, oldKey]).sign('msg_2', new Date(), BODY);
    await expect(verifyWebhook(BODY, both, oldKey)).resolves.toBeDefined();
    await expect(verifyWebhook(BODY, both, newKey)).resolves.toBeDefined();
    await expect(verifyWebhook(BODY, signed(newKey), [oldKey, newKey])).resolves.toBeDefined();
    expect(await failure(verifyWebhook(BODY, both, other))).toBe('bad_signature');
  });

  it('skips signatures of other versions and ones that are not base64, without failing on them', async () => {
    const key = secret();
    const headers = signed(key);
    const mixed = { ...headers, 'webhook-signature': `v1a,${headers['webhook-signature']!.slice(3)} v1,%%% ${headers['webhook-signature']}` };
    await expect(verifyWebhook(BODY, mixed, key)).resolves.toBeDefined();
    const onlyOthers = { ...headers, 'webhook-signature': `v2,${headers['webhook-signature']!.slice(3)}` };
    expect(await failure(verifyWebhook(BODY, onlyOthers, key))).toBe('bad_signature');
  });

  it('refuses a forged or altered message', async () => {
    const key = secret();
    expect(await failure(verifyWebhook(BODY, signed(secret()), key))).toBe('bad_signature');
    expect(await failure(verifyWebhook(BODY.replace('HI', 'HO'), signed(key), key))).toBe('bad_signature');
    expect(await failure(verifyWebhook(BODY, { ...signed(key), 'webhook-id': 'msg_other' }, key))).toBe('bad_signature');
    const headers = signed(key);
    expect(await failure(verifyWebhook(BODY, { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 1) }, key))).toBe('bad_signature');
  });

  it('refuses a stale or future timestamp beyond the tolerance, as standardwebhooks does, and honours a wider one', async () => {
    const key = secret();
    const old = signed(key, BODY, new Date(Date.now() - 10 * 60_000));
    const future = signed(key, BODY, new Date(Date.now() + 10 * 60_000));
    expect(() => new Webhook(key).verify(BODY, old)).toThrow(/too old/);
    expect(await failure(verifyWebhook(BODY, old, key))).toBe('stale');
    expect(await failure(verifyWebhook(BODY, future, key))).toBe('stale');
    await expect(verifyWebhook(BODY, old, key, { toleranceSeconds: 3600 })).resolves.toBeDefined();
  });

  it('names what is missing or malformed', async () => {
    const key = secret();
    const { 'webhook-signature': _dropped, ...unsigned } = signed(key);
    expect(await failure(verifyWebhook(BODY, unsigned, key))).toBe('missing_headers');
    expect(await failure(verifyWebhook(BODY, { ...signed(key), 'webhook-timestamp': 'yesterday' }, key))).toBe('bad_timestamp');
    const text = 'not json';
    expect(await failure(verifyWebhook(text, signed(key, text), key))).toBe('bad_body');
    await expect(verifyWebhook(BODY, signed(key), 'whsec_')).rejects.toThrow(TypeError);
  });
});

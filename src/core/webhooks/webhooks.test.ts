import { describe, expect, it } from 'vitest';
import { decodeWebhookMessage, encodeWebhookMessage, firstWebhookAttempt, nextWebhookAttempt, webhookAttemptOf, webhookBody, webhookEventOf, webhookIdFor, webhookTarget } from './message.js';
import { isRetryableWebhookStatus, parseRetryAfter, webhookRetryDelayMs, webhookSchedule } from './retry.js';

describe('webhook messages', () => {
  it('maps every terminal status to its event, and nothing else', () => {
    expect(['COMPLETED', 'FAILED', 'TIMEOUT', 'CANCELLED'].map((s) => webhookEventOf(s as 'COMPLETED'))).toEqual(['request.completed', 'request.failed', 'request.timeout', 'request.cancelled']);
    expect(webhookEventOf('PENDING')).toBeUndefined();
    expect(webhookEventOf('PROCESSING')).toBeUndefined();
  });

  it('derives one id per transition: the same for the same one, another for another ending (a replay ending again) or event', () => {
    const id = '0190a0b1-0000-7000-8000-000000000001';
    const endedAt = 1_764_000_000_123;
    expect(webhookIdFor(id, 'request.completed', endedAt)).toBe(webhookIdFor(id, 'request.completed', endedAt));
    expect(webhookIdFor(id, 'request.completed', endedAt + 1)).not.toBe(webhookIdFor(id, 'request.completed', endedAt));
    expect(webhookIdFor(id, 'request.failed', endedAt)).not.toBe(webhookIdFor(id, 'request.completed', endedAt));
    expect(webhookIdFor(id, 'request.failed', endedAt)).toMatch(/^msg_[0-9a-z_]+$/);
  });

  it('sends to the request URL, else the default, and only for the chosen events', () => {
    expect(webhookTarget({ callback_url: 'https://a/x' }, 'https://d/', 'request.failed')).toBe('https://a/x');
    expect(webhookTarget({}, 'https://d/', 'request.failed')).toBe('https://d/');
    expect(webhookTarget({}, null, 'request.failed')).toBeNull();
    expect(webhookTarget({ callback_url: 'https://a/x', callback_events: ['request.failed'] }, null, 'request.completed')).toBeNull();
    expect(webhookTarget({ callback_events: ['request.failed'] }, 'https://d/', 'request.failed')).toBe('https://d/');
  });

  it('leaves the result out of a body over the cap, and says so', () => {
    const view = { correlation_id: 'x', status: 'COMPLETED', result: 'y'.repeat(2000), headers: { a: 'b' } };
    expect(JSON.parse(webhookBody('request.completed', view, 10_000))).toEqual({ event: 'request.completed', ...view });
    expect(JSON.parse(webhookBody('request.completed', view, 1000))).toEqual({ event: 'request.completed', correlation_id: 'x', status: 'COMPLETED', result: null, headers: null, result_omitted: true });
  });

  it('numbers attempts in the message: the next one carries its number and due time, a redelivery starts again at 1', () => {
    const message = { v: 1, kind: 'webhook', webhook_id: 'msg_1', correlation_id: 'c', event: 'request.failed', url: 'https://a/', body: '{}', tenant: null, created_at: 1 } as const;
    expect(webhookAttemptOf(message)).toBe(1);
    const third = nextWebhookAttempt(nextWebhookAttempt(message, 10), 20);
    expect(third).toMatchObject({ attempt: 3, due_at: 20 });
    expect(decodeWebhookMessage(encodeWebhookMessage(third))).toEqual(third);
    expect(firstWebhookAttempt(third)).toEqual({ ...message, attempt: 1 });
    for (const attempt of [0, 1.5, '2', null]) expect(() => decodeWebhookMessage(JSON.stringify({ ...message, attempt }))).toThrow(expect.objectContaining({ code: 'HQM_ERR_MESSAGE_INVALID' }));
    expect(() => decodeWebhookMessage(JSON.stringify({ ...message, due_at: 'soon' }))).toThrow(expect.objectContaining({ code: 'HQM_ERR_MESSAGE_INVALID' }));
  });

  it('round-trips a message and refuses anything else', () => {
    const message = { v: 1, kind: 'webhook', webhook_id: 'msg_1', correlation_id: 'c', event: 'request.failed', url: 'https://a/', body: '{}', tenant: null, created_at: 1 } as const;
    expect(decodeWebhookMessage(encodeWebhookMessage(message))).toEqual(message);
    for (const raw of ['nope', '{}', JSON.stringify({ ...message, event: 'request.started' }), JSON.stringify({ ...message, v: 2 })]) {
      expect(() => decodeWebhookMessage(raw)).toThrow(expect.objectContaining({ code: 'HQM_ERR_MESSAGE_INVALID' }));
    }
  });
});

describe('webhook retries', () => {
  const policy = { maxAttempts: 18, baseMs: 5000, maxMs: 21_600_000 };

  it('doubles from the base up to the cap, losing at most a fifth to jitter', () => {
    expect(webhookRetryDelayMs(policy, 1, null, () => 0)).toBe(5000);
    expect(webhookRetryDelayMs(policy, 3, null, () => 0)).toBe(20_000);
    expect(webhookRetryDelayMs(policy, 3, null, () => 0.999)).toBeGreaterThanOrEqual(16_000);
    expect(webhookRetryDelayMs(policy, 40, null, () => 0)).toBe(21_600_000);
  });

  it('spans more than a day by default, even with the most jitter', () => {
    const nominal = webhookSchedule(policy).reduce((a, b) => a + b, 0);
    expect(nominal * 0.8).toBeGreaterThan(24 * 3600 * 1000);
  });

  it('honours a longer Retry-After, capped at a day', () => {
    expect(webhookRetryDelayMs(policy, 1, 60_000, () => 0)).toBe(60_000);
    expect(webhookRetryDelayMs(policy, 1, 10, () => 0)).toBe(5000);
    expect(webhookRetryDelayMs(policy, 1, 10 * 24 * 3600 * 1000, () => 0)).toBe(24 * 3600 * 1000);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter(new Date(10_000 + 30_000).toUTCString(), 10_000)).toBe(30_000);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });

  it('retries 5xx and 429 answers only', () => {
    expect([500, 503, 429].every(isRetryableWebhookStatus)).toBe(true);
    expect([400, 404, 410, 301].some(isRetryableWebhookStatus)).toBe(false);
  });
});

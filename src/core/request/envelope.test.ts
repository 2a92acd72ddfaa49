import { describe, expect, it } from 'vitest';
import { isHqmError } from '../errors.js';
import { decodeMessage, deadlineOf, normalizeMetadata, resolvePriority } from './envelope.js';

const id = '0b8e6c5e-7f5a-4d51-9a57-6a0c9c2f1e3b';

describe('envelope', () => {
  it('fills metadata defaults and keeps unknown keys for the processor', () => {
    expect(normalizeMetadata({ priority: 'high', custom: { a: 1 } }, { timeout: 300 })).toMatchObject({
      priority: 5,
      timeout: 300,
      retry_count: 0,
      endpoint: null,
      method: null,
      queue: 'default',
      custom: { a: 1 },
    });
  });

  it('maps priorities: integers clamp to 0-9, names to numbers', () => {
    expect(resolvePriority(9)).toBe(9);
    expect(resolvePriority(12)).toBe(9);
    expect(resolvePriority('NORMAL')).toBe(0);
    expect(resolvePriority(undefined)).toBe(0);
  });

  it('decodes what the API writes and computes the deadline from submission', () => {
    const raw = JSON.stringify({ v: 1, correlation_id: id, timestamp: '2026-01-01T00:00:00.000Z', payload: { a: 1 }, metadata: { timeout: 10 } });
    const decoded = decodeMessage(raw, { timeout: 300 });
    if (decoded.kind !== 'envelope') throw new Error('not decoded as an envelope');
    const envelope = decoded.envelope;
    expect(envelope).toMatchObject({ correlation_id: id, payload: { a: 1 }, headers: {}, request: null });
    expect(deadlineOf(envelope)).toBe(Date.parse('2026-01-01T00:00:10.000Z'));
  });

  it.each([
    ['not JSON', '{'],
    ['an unknown envelope version', JSON.stringify({ v: 2, correlation_id: id, payload: {} })],
    ['an envelope whose metadata is not an object', JSON.stringify({ correlation_id: id, payload: {}, metadata: 'x' })],
  ])('refuses %s as HQM_ERR_MESSAGE_INVALID', (_title, raw) => {
    let caught: unknown;
    try {
      decodeMessage(raw, { timeout: 1 });
    } catch (error) {
      caught = error;
    }
    expect(isHqmError(caught) && caught.code).toBe('HQM_ERR_MESSAGE_INVALID');
  });

  it.each([
    ['an array', '[1]', { value: [1] }],
    ['an object without an id', JSON.stringify({ payload: {} }), { payload: {} }],
    ['an object with a bad id', JSON.stringify({ correlation_id: 'nope', payload: {} }), { correlation_id: 'nope', payload: {} }],
    ['an envelope-like object whose payload is not an object', JSON.stringify({ correlation_id: id, payload: 'x' }), { correlation_id: id, payload: 'x' }],
  ])('takes %s as a bare message from another producer', (_title, raw, payload) => {
    expect(decodeMessage(raw, { timeout: 1 })).toEqual({ kind: 'bare', payload });
  });
});

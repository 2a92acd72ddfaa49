import { describe, expect, it } from 'vitest';
import { isHqmError } from '../errors.js';
import { decodeEnvelope, deadlineOf, normalizeMetadata, resolvePriority } from './envelope.js';

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
    const envelope = decodeEnvelope(raw, { timeout: 300 });
    expect(envelope).toMatchObject({ correlation_id: id, payload: { a: 1 }, headers: {}, request: null });
    expect(deadlineOf(envelope)).toBe(Date.parse('2026-01-01T00:00:10.000Z'));
  });

  it.each([
    ['not JSON', '{'],
    ['not an object', '[]'],
    ['a missing id', JSON.stringify({ payload: {} })],
    ['a bad id', JSON.stringify({ correlation_id: 'nope', payload: {} })],
    ['a non-object payload', JSON.stringify({ correlation_id: id, payload: 'x' })],
    ['an unknown version', JSON.stringify({ v: 2, correlation_id: id, payload: {} })],
  ])('refuses %s as HQM_ERR_MESSAGE_INVALID', (_title, raw) => {
    let caught: unknown;
    try {
      decodeEnvelope(raw, { timeout: 1 });
    } catch (error) {
      caught = error;
    }
    expect(isHqmError(caught) && caught.code).toBe('HQM_ERR_MESSAGE_INVALID');
  });
});

import { describe, expect, it } from 'vitest';
import { bridgedId, readMessage } from './message.js';

const limits = { maxBytes: 64, maxDepth: 3 };

describe('bridged MQTT messages', () => {
  it('derive one id from the topic and correlation data, keyed by the secret; none without correlation data', () => {
    const a = bridgedId('devices/1/jobs', Buffer.from('job-1'), 'secret-one-0123456789');
    expect(a).toEqual(bridgedId('devices/1/jobs', Buffer.from('job-1'), 'secret-one-0123456789'));
    expect(a.stable).toBe(true);
    expect(a.id).not.toBe(bridgedId('devices/2/jobs', Buffer.from('job-1'), 'secret-one-0123456789').id);
    expect(a.id).not.toBe(bridgedId('devices/1/jobs', Buffer.from('job-1'), 'secret-two-0123456789').id);
    const loose = bridgedId('devices/1/jobs', undefined, 'secret-one-0123456789');
    expect(loose.stable).toBe(false);
    expect(loose.id).not.toBe(bridgedId('devices/1/jobs', undefined, 'secret-one-0123456789').id);
  });

  it('take a JSON object as the payload and wrap any other JSON value', () => {
    expect(readMessage('id', Buffer.from('{"a":1}'), limits)).toEqual({ kind: 'request', id: 'id', payload: { a: 1 } });
    expect(readMessage('id', Buffer.from('[1,2]'), limits)).toEqual({ kind: 'request', id: 'id', payload: { value: [1, 2] } });
  });

  it('refuse, with the reason, what is not UTF-8 JSON, too large or too deep', () => {
    expect(readMessage('id', Buffer.from('nope'), limits)).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/^payload is not JSON/) });
    expect(readMessage('id', Buffer.from([0x22, 0xff, 0x22]), limits)).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/^payload is not JSON/) });
    expect(readMessage('id', Buffer.from(`"${'x'.repeat(70)}"`), limits)).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/larger than api\.max_body_bytes/) });
    expect(readMessage('id', Buffer.from('{"a":{"b":{"c":{}}}}'), limits)).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/^payload refused: /) });
  });
});

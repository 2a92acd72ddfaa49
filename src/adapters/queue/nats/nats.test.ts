import { describe, expect, it } from 'vitest';
import { splitCredentials } from './link.js';
import { bandOf, escapeQueue, queueNames } from './names.js';
import { parseAckSubject } from './pull.js';

describe('nats queue names', () => {
  it('escapes "." and "_" reversibly, so two queue names never share a stream or subject', () => {
    expect(escapeQueue('openhqm-requests')).toBe('openhqm-requests');
    expect(escapeQueue('openhqm-requests.webhooks')).toBe('openhqm-requests_2Ewebhooks');
    expect(escapeQueue('a_b')).toBe('a_5Fb');
    // Without escaping "_", these two would collide.
    expect(escapeQueue('a.b')).not.toBe(escapeQueue('a_2Eb'));
    const names = queueNames('OPENHQM', 'openhqm', 'q.named');
    expect(names).toMatchObject({
      stream: 'OPENHQM_q_2Enamed',
      deadStream: 'OPENHQM_q_2Enamed_DLQ',
      subject: { low: 'openhqm.q_2Enamed', mid: 'openhqm.q_2Enamed.mid', high: 'openhqm.q_2Enamed.high' },
      delayed: 'openhqm.q_2Enamed.delayed',
    });
  });

  it('puts the named priorities (normal 0, high 5, urgent 9) in different bands', () => {
    expect([0, 3, 4, 5, 6, 7, 9].map(bandOf)).toEqual(['low', 'low', 'mid', 'mid', 'mid', 'high', 'high']);
  });
});

describe('nats acknowledgement subjects', () => {
  it('reads the delivery count, stream sequence and time from both forms', () => {
    const stamp = 1_700_000_000_123_456_789n;
    expect(parseAckSubject(`$JS.ACK.S.C.3.42.40.${stamp}.0`)).toEqual({ delivered: 3, streamSeq: 42, storedAt: 1_700_000_000_123 });
    expect(parseAckSubject(`$JS.ACK.domain.ACCHASH.S.C.1.7.7.${stamp}.5.token`)).toEqual({ delivered: 1, streamSeq: 7, storedAt: 1_700_000_000_123 });
    expect(parseAckSubject('_INBOX.abc')).toBeUndefined();
    expect(parseAckSubject(undefined)).toBeUndefined();
  });
});

describe('nats URLs', () => {
  it('takes user and password out of the URL (the driver does not read them), keeping the servers', () => {
    expect(splitCredentials('nats://u%40x:p%3Aw@a:4222, nats://b:4223')).toEqual({ servers: ['nats://a:4222', 'nats://b:4223'], user: 'u@x', pass: 'p:w' });
    expect(splitCredentials('nats://127.0.0.1:4222')).toEqual({ servers: ['nats://127.0.0.1:4222'], user: '', pass: '' });
  });
});

import { describe, expect, it } from 'vitest';
import { deadLetterName, namingBase, secretName, sqsName } from './names.js';

describe('SQS queue names', () => {
  const url = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders';

  it('the url names the request queue; named queues sit beside it', () => {
    const base = namingBase(url, 'openhqm-requests');
    expect(sqsName(base, 'openhqm-requests')).toBe('orders');
    expect(sqsName(base, 'openhqm-requests.fast')).toBe('orders-fast');
    expect(deadLetterName(base, 'openhqm-requests')).toBe('orders-dlq');
    expect(deadLetterName(base, 'openhqm-requests.webhooks')).toBe('orders-webhooks-dlq');
    expect(secretName(base)).toBe('orders-secret.fifo');
  });

  it('a .fifo url makes every queue FIFO', () => {
    const base = namingBase(`${url}.fifo`, 'openhqm-requests');
    expect(base.fifo).toBe(true);
    expect(sqsName(base, 'openhqm-requests')).toBe('orders.fifo');
    expect(sqsName(base, 'openhqm-requests.fast')).toBe('orders-fast.fifo');
    expect(deadLetterName(base, 'openhqm-requests.fast')).toBe('orders-fast-dlq.fifo');
  });

  it('without a url each queue is named after itself, with what SQS refuses replaced and long names hashed', () => {
    const base = namingBase('', 'openhqm-requests');
    expect(sqsName(base, 'openhqm-requests.fast')).toBe('openhqm-requests_fast');
    const long = sqsName(base, 'x'.repeat(100));
    expect(long).toHaveLength(80);
    expect(long).not.toBe(sqsName(base, `${'x'.repeat(99)}y`));
    expect(secretName(base)).toBe('openhqm-secret.fifo');
  });
});

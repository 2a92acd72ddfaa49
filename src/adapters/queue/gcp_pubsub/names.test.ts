import { describe, expect, it } from 'vitest';
import { queueNames, secretTopic } from './names.js';

describe('Pub/Sub names', () => {
  it('names the topic and subscriptions of a queue under the prefix', () => {
    expect(queueNames('p', 'openhqm-', 'orders')).toEqual({
      topic: 'projects/p/topics/openhqm-orders',
      work: 'projects/p/subscriptions/openhqm-orders.work',
      deadTopic: 'projects/p/topics/openhqm-orders.dead',
      deadLog: 'projects/p/subscriptions/openhqm-orders.dead.log',
    });
    expect(secretTopic('p', 'openhqm-')).toBe('projects/p/topics/openhqm-secret');
  });

  it('writes a character Pub/Sub refuses as %XX, so two queue names never share a topic', () => {
    const spaced = queueNames('p', 'q-', 'a b').topic;
    const escaped = queueNames('p', 'q-', 'a%20b').topic;
    expect(spaced).toBe('projects/p/topics/q-a%20b');
    expect(escaped).toBe('projects/p/topics/q-a%2520b');
    expect(queueNames('p', 'q-', 'é').topic).toBe('projects/p/topics/q-%C3%A9');
    // Letters, digits and -._~+ stay as they are.
    expect(queueNames('p', 'q-', 'A.b_c~d+e-1').topic).toBe('projects/p/topics/q-A.b_c~d+e-1');
  });
});

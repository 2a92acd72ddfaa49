import { describe, expect, it } from 'vitest';
import { HqmEvents } from '../core/events.js';
import { RecentOutcomes } from './recent-outcomes.js';

describe('RecentOutcomes', () => {
  it('counts per queue within the last minute and forgets what is older', () => {
    let now = 1_000_000;
    const recent = new RecentOutcomes(60_000, () => now);
    recent.add('a', 'completed');
    recent.add('a', 'failed');
    now += 30_000;
    recent.add('a', 'completed');
    recent.add('b', 'completed');
    expect(recent.count('a')).toEqual({ completed: 2, failed: 1 });
    now += 30_500; // The first second has left the window; its bucket is reused only when written.
    expect(recent.count('a')).toEqual({ completed: 1, failed: 0 });
    recent.add('a', 'failed');
    expect(recent.count('a')).toEqual({ completed: 1, failed: 1 });
    expect(recent.count('b')).toEqual({ completed: 1, failed: 0 });
    expect(recent.count('unknown')).toEqual({ completed: 0, failed: 0 });
    now += 120_000;
    expect(recent.count('a')).toEqual({ completed: 0, failed: 0 });
  });

  it('counts completed, failed and timed-out requests from the events, not retries, until unsubscribed', () => {
    const events = new HqmEvents();
    const recent = new RecentOutcomes();
    const stop = recent.observe(events);
    const base = { id: 'x', queue: 'q', attempt: 1, durationMs: 1 };
    events.emit('request:completed', base);
    events.emit('request:failed', { ...base, error: new Error('no') });
    events.emit('request:timeout', base);
    events.emit('request:retrying', { ...base, delayMs: 1, error: new Error('again') });
    stop();
    events.emit('request:completed', base);
    expect(recent.count('q')).toEqual({ completed: 1, failed: 2 });
  });
});

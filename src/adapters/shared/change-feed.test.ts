import { describe, expect, it } from 'vitest';
import type { Logger } from '../../ports/logger.js';
import type { RecordChange } from '../../ports/result-store.js';
import { ChangeFeed } from './change-feed.js';

describe('ChangeFeed', () => {
  it('logs a listener that throws, with the change it choked on, and still tells the other listeners', () => {
    const logged: Array<{ fields: Record<string, unknown>; message?: string }> = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (fields, message) => void logged.push({ fields: fields as Record<string, unknown>, message }),
      child: () => logger,
    };
    const feed = new ChangeFeed(logger);
    const heard: RecordChange[] = [];
    feed.subscribe(() => {
      throw new Error('listener bug');
    });
    feed.subscribe((change) => void heard.push(change));
    feed.emit({ id: 'abc', status: 'COMPLETED' });
    expect(heard).toEqual([{ id: 'abc', status: 'COMPLETED' }]);
    expect(logged).toHaveLength(1);
    expect(logged[0]?.fields).toMatchObject({ correlation_id: 'abc', status: 'COMPLETED' });
    expect((logged[0]?.fields.err as Error).message).toBe('listener bug');
  });
});

import { describe, expect, it } from 'vitest';
import { HqmError } from '../../../core/errors.js';
import { TurnBatch } from './turn-batch.js';

/** A batch over items named by a key, recording each statement it sends. */
function batch(send: (items: readonly string[]) => Promise<readonly string[]> = async (items) => items.map((i) => `done ${i}`), max = 10) {
  const sent: string[][] = [];
  const turn = new TurnBatch<string, string>(
    async (items) => {
      sent.push([...items]);
      return send(items);
    },
    (item) => [item.split(':')[0] as string],
    max,
  );
  return { turn, sent };
}

describe('TurnBatch', () => {
  it('sends the items of one turn in one statement, each answered with its own result', async () => {
    const { turn, sent } = batch();
    const results = await Promise.all(['a', 'b', 'c'].map((i) => turn.run(i)));
    expect(results).toEqual(['done a', 'done b', 'done c']);
    expect(sent).toEqual([['a', 'b', 'c']]);
  });

  it('sends an item that shares a key with an earlier one in the next statement, after the first landed', async () => {
    const { turn, sent } = batch();
    await Promise.all(['a:1', 'b', 'a:2', 'a:3'].map((i) => turn.run(i)));
    expect(sent).toEqual([['a:1', 'b'], ['a:2'], ['a:3']]);
  });

  it('sends at most `max` items per statement', async () => {
    const { turn, sent } = batch(undefined, 2);
    await Promise.all(['a', 'b', 'c'].map((i) => turn.run(i)));
    expect(sent).toEqual([['a', 'b'], ['c']]);
  });

  it('resends a statement refused for its data one item at a time, so only the bad item fails', async () => {
    const { turn, sent } = batch(async (items) => {
      if (items.includes('bad')) throw Object.assign(new Error('invalid byte sequence'), { code: '22021' });
      return items.map((i) => `done ${i}`);
    });
    const results = await Promise.allSettled(['a', 'bad', 'c'].map((i) => turn.run(i)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(sent[0]).toEqual(['a', 'bad', 'c']);
    expect(sent.slice(1).sort()).toEqual([['a'], ['bad'], ['c']]);
  });

  it('fails every item of a statement the server could not run', async () => {
    const down = new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'PostgreSQL is unavailable');
    const { turn, sent } = batch(async () => Promise.reject(down));
    const results = await Promise.allSettled(['a', 'b'].map((i) => turn.run(i)));
    expect(results).toEqual([{ status: 'rejected', reason: down }, { status: 'rejected', reason: down }]);
    expect(sent).toEqual([['a', 'b']]);
  });
});

import { describe, expect, it } from 'vitest';
import type { FieldIssue } from '../errors.js';
import { chainLength, followUpBody, followUpIdOf, MAX_CHAIN_LENGTH, thenIssues, type FollowUpBody } from './chain.js';
import { isCorrelationId, newCorrelationId } from './ids.js';

const accepting = (): FieldIssue[] => [];

/** then → then.metadata.then → … , `n` deep. */
function nested(n: number): Record<string, unknown> {
  let then: Record<string, unknown> = { payload: { step: n } };
  for (let i = n - 1; i >= 1; i -= 1) then = { payload: { step: i }, metadata: { then } };
  return then;
}

describe('followUpIdOf', () => {
  it('is a UUID that depends only on the parent id', () => {
    const parent = newCorrelationId();
    const id = followUpIdOf(parent);
    expect(isCorrelationId(id)).toBe(true);
    expect(followUpIdOf(parent)).toBe(id);
    expect(followUpIdOf(newCorrelationId())).not.toBe(id);
    // A chain's ids differ at every step.
    expect(followUpIdOf(id)).not.toBe(id);
  });
});

describe('chainLength', () => {
  it('counts then inside then.metadata', () => {
    expect(chainLength(undefined)).toBe(0);
    expect(chainLength({})).toBe(1);
    expect(chainLength(nested(3))).toBe(3);
    expect(chainLength(nested(50))).toBe(MAX_CHAIN_LENGTH + 1);
  });
});

describe('thenIssues', () => {
  it('accepts no then, and a well-formed one', () => {
    expect(thenIssues(undefined, accepting)).toEqual([]);
    expect(thenIssues({ payload: { a: 1 }, metadata: { priority: 2 }, queue: 'default' }, accepting)).toEqual([]);
  });

  it('names each malformed field', () => {
    expect(thenIssues('next', accepting)).toEqual([{ path: 'body.metadata.then', message: expect.stringContaining('must be an object') }]);
    expect(thenIssues({ payload: [1], metadata: 3, queue: 7, headers: {} }, accepting).map((i) => i.path)).toEqual([
      'body.metadata.then.headers',
      'body.metadata.then.payload',
      'body.metadata.then.metadata',
      'body.metadata.then.queue',
    ]);
  });

  it('refuses two different queues', () => {
    expect(thenIssues({ queue: 'a', metadata: { queue: 'b' } }, accepting)).toEqual([{ path: 'body.metadata.then.queue', message: expect.stringContaining('another queue') }]);
    expect(thenIssues({ queue: 'a', metadata: { queue: 'a' } }, accepting)).toEqual([]);
  });

  it(`bounds a chain at ${MAX_CHAIN_LENGTH} follow-ups`, () => {
    expect(thenIssues(nested(MAX_CHAIN_LENGTH), accepting)).toEqual([]);
    expect(thenIssues(nested(MAX_CHAIN_LENGTH + 1), accepting)).toEqual([{ path: 'body.metadata.then', message: expect.stringContaining(`more than ${MAX_CHAIN_LENGTH}`) }]);
  });

  it('checks the follow-up as a submit, and names its findings where the client wrote them', () => {
    const seen: FollowUpBody[] = [];
    const check = (body: FollowUpBody): FieldIssue[] => {
      seen.push(body);
      return [
        { path: 'body.payload.x', message: 'p' },
        { path: 'body.metadata.queue', message: 'q' },
        { path: 'body.metadata.then.queue', message: 'n' },
      ];
    };
    expect(thenIssues({ payload: { x: 1 }, queue: 'fast' }, check).map((i) => i.path)).toEqual(['body.metadata.then.payload.x', 'body.metadata.then.queue', 'body.metadata.then.metadata.then.queue']);
    expect(seen).toEqual([{ payload: { x: 1 }, headers: {}, metadata: { queue: 'fast' } }]);
    // The queue named inside then.metadata is reported there.
    expect(thenIssues({ metadata: { queue: 'fast' } }, check).map((i) => i.path)).toContain('body.metadata.then.metadata.queue');
  });
});

describe('followUpBody', () => {
  it('adds the result to then.payload as previous', () => {
    expect(followUpBody({ payload: { op: 'b', previous: 'overwritten' }, queue: 'q', metadata: { priority: 1 } }, { output: 'A' })).toEqual({
      payload: { op: 'b', previous: { output: 'A' } },
      headers: {},
      metadata: { priority: 1, queue: 'q' },
    });
  });

  it('makes the result the payload without then.payload, wrapped when it is not an object', () => {
    expect(followUpBody({}, { output: 'A' }).payload).toEqual({ output: 'A' });
    expect(followUpBody({}, 'text').payload).toEqual({ previous: 'text' });
    expect(followUpBody({}, [1, 2]).payload).toEqual({ previous: [1, 2] });
    expect(followUpBody({}, null).payload).toEqual({ previous: null });
  });

  it('carries a nested then in the follow-up’s metadata', () => {
    expect(followUpBody(nested(2) as never, 1).metadata).toEqual({ then: { payload: { step: 2 } } });
  });
});

import { describe, expect, it } from 'vitest';
import { attemptMayMove, canReplay, canTransition, isReplayEvent, isTerminal, STATUSES, TERMINAL_STATUSES, type Status } from './lifecycle.js';

describe('lifecycle', () => {
  const allowed: Array<[Status, Status]> = [
    ['PENDING', 'PROCESSING'],
    ['PENDING', 'CANCELLED'],
    ['PENDING', 'TIMEOUT'],
    ['PROCESSING', 'COMPLETED'],
    ['PROCESSING', 'FAILED'],
    ['PROCESSING', 'PENDING'],
    ['PROCESSING', 'TIMEOUT'],
    ['PROCESSING', 'PROCESSING'],
    ['PROCESSING', 'CANCELLED'],
  ];

  it('allows exactly the transitions of the drawn state machine', () => {
    for (const from of STATUSES) {
      for (const to of STATUSES) {
        const expected = allowed.some(([f, t]) => f === from && t === to);
        expect(canTransition(from, to), `${from} -> ${to}`).toBe(expected);
      }
    }
  });

  it('lets nothing leave a terminal state', () => {
    for (const from of TERMINAL_STATUSES) {
      expect(isTerminal(from)).toBe(true);
      for (const to of STATUSES) expect(canTransition(from, to)).toBe(false);
    }
    expect(isTerminal('PENDING')).toBe(false);
    expect(isTerminal('PROCESSING')).toBe(false);
  });


  it('fences PROCESSING by attempt: the holder moves it on, only a later attempt takes it over', () => {
    const held = { status: 'PROCESSING' as const, attempt: 2 };
    expect(attemptMayMove(held, 'COMPLETED', 2)).toBe(true);
    expect(attemptMayMove(held, 'COMPLETED', 1)).toBe(false);
    expect(attemptMayMove(held, 'COMPLETED', 3)).toBe(false);
    expect(attemptMayMove(held, 'PROCESSING', 3)).toBe(true);
    expect(attemptMayMove(held, 'PROCESSING', 2)).toBe(false);
    expect(attemptMayMove({ status: 'PENDING', attempt: 5 }, 'PROCESSING', 1)).toBe(true);
  });
});

describe('replay', () => {
  it('leaves FAILED and TIMEOUT only by a replay, back to PENDING; nothing else leaves a terminal status', () => {
    expect(canReplay('FAILED')).toBe(true);
    expect(canReplay('TIMEOUT')).toBe(true);
    for (const status of ['PENDING', 'PROCESSING', 'COMPLETED', 'CANCELLED'] as const) expect(canReplay(status)).toBe(false);
    expect(canTransition('FAILED', 'PENDING')).toBe(false);
    expect(canTransition('TIMEOUT', 'PENDING')).toBe(false);
  });

  it('reads the move out of FAILED or TIMEOUT to PENDING as a replay, and no other', () => {
    expect(isReplayEvent({ from: 'FAILED', to: 'PENDING' })).toBe(true);
    expect(isReplayEvent({ from: 'TIMEOUT', to: 'PENDING' })).toBe(true);
    expect(isReplayEvent({ from: 'PROCESSING', to: 'PENDING' })).toBe(false);
    expect(isReplayEvent({ from: null, to: 'PENDING' })).toBe(false);
  });
});

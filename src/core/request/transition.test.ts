import { describe, expect, it } from 'vitest';
import { attemptMayMove, canTransition, STATUSES } from './lifecycle.js';
import { compileTransition, guardAllows, initialRecord, planTransition } from './transition.js';

const base = initialRecord({ id: 'a', queue: 'default', priority: 0, submittedAt: 1000, deadlineAt: null, ttlMs: 5000 });

describe('initialRecord', () => {
  it('keeps a record for the TTL past its deadline, so it cannot expire while it may still finish', () => {
    expect(initialRecord({ id: 'b', queue: 'default', priority: 0, submittedAt: 1000, deadlineAt: 301_000, ttlMs: 5000 }).record.expiresAt).toBe(306_000);
    expect(base.record.expiresAt).toBe(6000);
  });
});

describe('planTransition', () => {
  it('applies an allowed move, recording who and when', () => {
    const plan = planTransition(base.record, { from: ['PENDING'], to: 'PROCESSING', attempt: 1, workerId: 'w' }, 2000);
    expect(plan).toMatchObject({ ok: true, record: { status: 'PROCESSING', attempt: 1, workerId: 'w', updatedAt: 2000 }, event: { from: 'PENDING', to: 'PROCESSING', attempt: 1, at: 2000 } });
  });

  it('refuses when the current status is not the expected one', () => {
    expect(planTransition(base.record, { from: ['PROCESSING'], to: 'COMPLETED', attempt: 1 }, 2000)).toEqual({ ok: false });
  });

  it('writes an outcome with a terminal status and restarts the TTL from then', () => {
    const claimed = planTransition(base.record, { from: ['PENDING'], to: 'PROCESSING', attempt: 1 }, 2000);
    if (!claimed.ok) throw new Error('claim refused');
    const done = planTransition(claimed.record, { from: ['PROCESSING'], to: 'FAILED', attempt: 1, error: 'boom' }, 9000);
    expect(done).toMatchObject({ ok: true, record: { status: 'FAILED', expiresAt: 14_000, error: 'boom', outcome: { error: 'boom', completedAt: 9000 } } });
  });

  it('keeps the last error while a retry waits, and clears progress for a new attempt', () => {
    const claimed = planTransition({ ...base.record, progress: 40 }, { from: ['PENDING'], to: 'PROCESSING', attempt: 1 }, 2000);
    if (!claimed.ok) throw new Error('claim refused');
    expect(claimed.record.progress).toBeNull();
    const retry = planTransition(claimed.record, { from: ['PROCESSING'], to: 'PENDING', attempt: 1, error: 'flaky' }, 3000);
    expect(retry).toMatchObject({ ok: true, record: { status: 'PENDING', error: 'flaky', outcome: null } });
  });

  it('compiles to a guard that admits exactly the moves the lifecycle and the attempt fence allow', () => {
    const fromSets = [...STATUSES.map((s) => [s]), [...STATUSES], []];
    for (const status of STATUSES) {
      for (const to of STATUSES) {
        for (const from of fromSets) {
          for (const attempt of [1, 2, 3]) {
            const current = { status, attempt: 2 };
            const expected = from.includes(status) && canTransition(status, to) && attemptMayMove(current, to, attempt);
            const { guard } = compileTransition({ from, to, attempt }, 0);
            expect(guardAllows(guard, current), `${status} -[${from.join('|')}]-> ${to} @${attempt}`).toBe(expected);
          }
        }
      }
    }
  });
});

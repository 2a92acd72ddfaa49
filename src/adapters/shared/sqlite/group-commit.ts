/**
 * Group commit: every write asked for during one turn of the event loop runs in a single
 * SQLite transaction, committed once. Each write still succeeds or fails on its own (a
 * constraint error in one does not undo the others); a failure of the commit itself rejects
 * them all. Callers get their promise back only after the commit, so "resolved" means durable.
 *
 * @module
 */
import type { Database } from 'better-sqlite3';

interface Pending {
  readonly op: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommit {
  #queue: Pending[] = [];
  #scheduled = false;
  readonly #runBatch: (batch: readonly Pending[]) => Outcome[];

  constructor(
    db: Database,
    private readonly translate: (error: unknown) => unknown,
  ) {
    // IMMEDIATE takes the write lock up front, so a batch never fails half-way on lock upgrade.
    const tx = db.transaction((batch: readonly Pending[]) => batch.map(runOne));
    this.#runBatch = (batch) => tx.immediate(batch);
  }

  /**
   * Queues `op` for the next commit. `op` runs inside the transaction. If it throws, its
   * promise rejects and the other ops still commit — so an op that writes several rows must
   * not throw after its first write (or must wrap its writes in a savepoint).
   */
  run<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ op, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  /** Commits whatever is queued right now (used by close). */
  flushNow(): void {
    this.#flush();
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const batch = this.#queue;
    if (batch.length === 0) return;
    this.#queue = [];
    let outcomes: Outcome[];
    try {
      outcomes = this.#runBatch(batch);
    } catch (error) {
      const translated = this.translate(error);
      for (const pending of batch) pending.reject(translated);
      return;
    }
    outcomes.forEach((outcome, i) => {
      const pending = batch[i] as Pending;
      if (outcome.ok) pending.resolve(outcome.value);
      else pending.reject(this.translate(outcome.error));
    });
  };
}

function runOne(pending: Pending): Outcome {
  try {
    return { ok: true, value: pending.op() };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * Group commit: every write asked for during one turn of the event loop runs in a single
 * SQLite transaction, committed once. Each write still succeeds or fails on its own (a
 * constraint error in one does not undo the others; an atomic write that fails half-way is
 * rolled back to its savepoint); an error that ends the whole transaction — SQLite rolls back
 * by itself on a full disk or an I/O error — or a failed commit rejects them all. Callers get
 * their promise back only after the commit, so "resolved" means durable.
 *
 * @module
 */
import type { Database } from 'better-sqlite3';

interface Pending {
  readonly op: () => unknown;
  readonly atomic: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommit {
  #queue: Pending[] = [];
  #scheduled = false;
  readonly #runBatch: (batch: readonly Pending[]) => Outcome[];

  /**
   * @param beforeBatch runs before each batch's transaction; if it throws, the batch is not
   *   run and every op of it rejects with that error (the file is gone, say).
   */
  constructor(
    db: Database,
    private readonly translate: (error: unknown) => unknown,
    private readonly beforeBatch: () => void = () => undefined,
  ) {
    // Called inside the batch transaction, better-sqlite3 runs this one as a savepoint.
    const savepoint = db.transaction((op: () => unknown) => op());
    const runOne = (pending: Pending): Outcome => {
      try {
        return { ok: true, value: pending.atomic ? savepoint(pending.op) : pending.op() };
      } catch (error) {
        // SQLite rolled the whole transaction back: the earlier writes are gone too.
        if (!db.inTransaction) throw error;
        return { ok: false, error };
      }
    };
    // IMMEDIATE takes the write lock up front, so a batch never fails half-way on lock upgrade.
    const tx = db.transaction((batch: readonly Pending[]) => batch.map(runOne));
    this.#runBatch = (batch) => tx.immediate(batch);
  }

  /**
   * Queues `op` for the next commit. `op` runs inside the transaction. If it throws, its
   * promise rejects and the other ops still commit. An op that writes more than one row must
   * say `atomic`, so a failure after its first write undoes that write too.
   */
  run<T>(op: () => T, options: { atomic?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ op, atomic: options.atomic ?? false, resolve: resolve as (value: unknown) => void, reject });
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
      this.beforeBatch();
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

/**
 * The fused pair of the SQLite queue and store on one file (D182). Both already share one
 * connection and its group commit (every write of one event-loop turn in one transaction, D3);
 * what fusing adds is atomicity and one op instead of two:
 *
 * - submit inserts the record and then the message inside one op of the group commit. A refused
 *   record (a duplicate id) throws before anything is written; should the message insert fail
 *   without ending the transaction, the record is removed again in the same op. So a submit never
 *   leaves a message without its record or a record without its message, as two separate ops of
 *   one commit could (each succeeds or fails on its own there).
 * - finish runs the store's compare-and-set and the delivery's settle, by (id, lease), in one
 *   savepoint of the group commit: both land in one commit, which the two-port path spreads over
 *   two (the settle waits for the transition's commit before it is even queued).
 *
 * @module
 */
import type { FusedBackend, FusedFinish, FusedSubmission, FusedSubmitted } from '../../../ports/fused.js';
import type { Delivery } from '../../../ports/queue-backend.js';
import type { TransitionResult } from '../../../ports/result-store.js';
import { fusionParts } from '../fusion.js';
import { assertSize } from '../messages.js';
import type { SqliteDeliveryFusion, SqliteQueueFusion, SqliteStoreFusion } from './fusion.js';

/** The pair, when `queue` and `store` are the SQLite adapters on one connection (one file). */
export function fuse(queue: unknown, store: unknown): FusedBackend | undefined {
  const q = fusionParts<SqliteQueueFusion>(queue, 'sqlite', 'queue');
  const s = fusionParts<SqliteStoreFusion>(store, 'sqlite', 'store');
  if (q === undefined || s === undefined || q.handle !== s.handle) return undefined;
  return new SqliteFused(q, s);
}

class SqliteFused implements FusedBackend {
  readonly type = 'sqlite+sqlite';

  constructor(
    private readonly queue: SqliteQueueFusion,
    private readonly store: SqliteStoreFusion,
  ) {}

  async submit(submission: FusedSubmission): Promise<FusedSubmitted> {
    const { queue, store } = this;
    queue.assertOpen();
    store.assertOpen();
    assertSize(submission.message.body, queue.maxMessageBytes);
    const { record, run: createRecord } = store.creation(submission.request);
    const published = await store.handle.commit.run(() => {
      createRecord();
      try {
        return queue.insert(submission.queue, submission.message);
      } catch (error) {
        // Still in the transaction (else the group commit fails the whole batch): take the record back out.
        if (store.handle.db.inTransaction) store.remove(record.id);
        throw error;
      }
    });
    store.announce({ id: record.id, status: record.status });
    queue.announce(submission.queue, published.visibleAt);
    return { record, messageId: published.messageId };
  }

  owns(delivery: Delivery): boolean {
    return this.#parts(delivery) !== undefined;
  }

  async finish(delivery: Delivery, finish: FusedFinish): Promise<TransitionResult> {
    const parts = this.#parts(delivery);
    if (parts === undefined) throw new Error('finish: the delivery is not from this pair\'s queue');
    this.store.assertOpen();
    const applied = parts.settlement(finish.applied);
    const otherwise = parts.settlement(finish.otherwise);
    const result = await this.store.handle.commit.run(() => {
      const outcome = this.store.transition(finish.transition);
      (outcome.ok ? applied : otherwise).run();
      return outcome;
    }, { atomic: true });
    if (result.ok) this.store.announce({ id: result.record.id, status: result.record.status });
    (result.ok ? applied : otherwise).after();
    return result;
  }

  #parts(delivery: Delivery): SqliteDeliveryFusion | undefined {
    const parts = fusionParts<SqliteDeliveryFusion>(delivery, 'sqlite', 'delivery');
    return parts?.queue === this.queue ? parts : undefined;
  }
}

/**
 * The SQLite side of the pull loop: a claim leases a batch of visible messages in one UPDATE,
 * and each delivery settles by (id, lease), so a settle from a lapsed lease changes nothing.
 *
 * @module
 */
import type { Settlement } from '../../../ports/fused.js';
import type { Delivery } from '../../../ports/queue-backend.js';
import type { DeadLetterBounds } from '../../shared/dead-letters.js';
import { FUSION } from '../../shared/fusion.js';
import type { SqliteHandle } from '../../shared/sqlite/database.js';
import type { SqliteDeliveryFusion, SqliteQueueFusion, SqliteStep } from '../../shared/sqlite/fusion.js';
import type { PullSource } from '../../shared/pull-consumer.js';
import { trimDeadLetters } from './dead-letters.js';
import type { MessageRow, QueueStatements } from './statements.js';

export class SqliteSource implements PullSource {
  constructor(
    private readonly handle: SqliteHandle,
    private readonly stmts: QueueStatements,
    private readonly queue: string,
    private readonly visibilityTimeoutMs: number,
    private readonly newLease: () => string,
    private readonly deadBounds: DeadLetterBounds,
    /** The queue's fusion parts, which its deliveries name as their owner. */
    private readonly owner: SqliteQueueFusion,
  ) {}

  async claim(limit: number): Promise<Delivery[]> {
    const lease = this.newLease();
    const now = Date.now();
    const rows = await this.handle.commit.run(() =>
      this.stmts.claim.all({ queue: this.queue, now, until: now + this.visibilityTimeoutMs, lease, limit }),
    );
    // RETURNING does not promise an order; restore priority, then FIFO.
    rows.sort((a, b) => b.priority - a.priority || a.id - b.id);
    return rows.map((row) => this.#delivery(row, lease));
  }

  nextDueAt(): number | undefined {
    return this.stmts.nextDue.get({ queue: this.queue })?.due ?? undefined;
  }

  #delivery(row: MessageRow, lease: string): Delivery {
    const { stmts, handle, queue, deadBounds } = this;
    const id = row.id;
    // Settling a key's head lets its next message go: wake this process's consumers now, not at
    // their safety timer (other processes see the commit through their own watch).
    const keyMoves = (): void => {
      if (row.partition_key !== null) handle.local.emit('published', queue);
    };
    const wakeAt = (at: number) => (): void => {
      if (at > Date.now()) handle.local.emit('scheduled', queue, at);
      else handle.local.emit('published', queue);
    };
    // Each settlement as a step: run alone in a group commit here, or inside a fused finish's (D182).
    const step = (settle: Settlement): SqliteStep => {
      switch (settle.kind) {
        case 'ack':
          return { run: () => void stmts.ack.run({ id, lease }), after: keyMoves };
        case 'retry': {
          const at = Date.now() + Math.max(0, settle.delayMs);
          return { run: () => void stmts.retry.run({ id, lease, visible_at: at }), after: () => handle.local.emit('scheduled', queue, at) };
        }
        case 'release': {
          const at = Date.now() + Math.max(0, settle.delayMs);
          return { run: () => void stmts.release.run({ id, lease, visible_at: at }), after: wakeAt(at) };
        }
        case 'deadLetter':
          return {
            run: () => {
              const taken = stmts.take.get({ id, lease });
              if (taken === undefined) return;
              const at = Date.now();
              stmts.bury.run({ queue, message_id: String(id), body: taken.body, attempts: taken.attempts, reason: settle.reason, at });
              trimDeadLetters(stmts, queue, at, deadBounds);
            },
            after: keyMoves,
          };
      }
    };
    // Dead-lettering writes two rows and trims: atomic, so a failure half-way undoes it all.
    const settleAlone = async (settle: Settlement): Promise<void> => {
      const { run, after } = step(settle);
      await handle.commit.run(run, settle.kind === 'deadLetter' ? { atomic: true } : undefined);
      after();
    };
    const delivery: Delivery & { readonly [FUSION]: SqliteDeliveryFusion } = {
      messageId: String(id),
      body: row.body,
      deliveryCount: row.attempts,
      priority: row.priority,
      partitionKey: row.partition_key,
      enqueuedAt: row.enqueued_at,
      ack: () => settleAlone({ kind: 'ack' }),
      retry: (delayMs) => settleAlone({ kind: 'retry', delayMs }),
      release: (delayMs = 0) => settleAlone({ kind: 'release', delayMs }),
      extend: (ms) => handle.commit.run(() => void stmts.extend.run({ id, lease, until: Date.now() + ms })),
      deadLetter: (reason) => settleAlone({ kind: 'deadLetter', reason }),
      [FUSION]: { technology: 'sqlite', role: 'delivery', queue: this.owner, settlement: step },
    };
    return delivery;
  }
}

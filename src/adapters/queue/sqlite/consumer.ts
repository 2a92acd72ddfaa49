/**
 * The SQLite side of the pull loop: a claim leases a batch of visible messages in one UPDATE,
 * and each delivery settles by (id, lease), so a settle from a lapsed lease changes nothing.
 *
 * @module
 */
import type { Delivery } from '../../../ports/queue-backend.js';
import type { DeadLetterBounds } from '../../shared/dead-letters.js';
import type { SqliteHandle } from '../../shared/sqlite/database.js';
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
    const write = (op: () => unknown, options?: { atomic: boolean }): Promise<void> => handle.commit.run(op, options).then(() => undefined);
    // Settling a key's head lets its next message go: wake this process's consumers now, not at
    // their safety timer (other processes see the commit through their own watch).
    const keyMoves = (): void => {
      if (row.partition_key !== null) handle.local.emit('published', queue);
    };
    return {
      messageId: String(id),
      body: row.body,
      deliveryCount: row.attempts,
      priority: row.priority,
      partitionKey: row.partition_key,
      enqueuedAt: row.enqueued_at,
      ack: () => write(() => stmts.ack.run({ id, lease })).then(keyMoves),
      retry: async (delayMs) => {
        const at = Date.now() + Math.max(0, delayMs);
        await write(() => stmts.retry.run({ id, lease, visible_at: at }));
        handle.local.emit('scheduled', queue, at);
      },
      release: async (delayMs = 0) => {
        const at = Date.now() + Math.max(0, delayMs);
        await write(() => stmts.release.run({ id, lease, visible_at: at }));
        if (at > Date.now()) handle.local.emit('scheduled', queue, at);
        else handle.local.emit('published', queue);
      },
      extend: (ms) => write(() => stmts.extend.run({ id, lease, until: Date.now() + ms })),
      deadLetter: (reason) =>
        write(
          () => {
            const taken = stmts.take.get({ id, lease });
            if (taken === undefined) return;
            const at = Date.now();
            stmts.bury.run({ queue, message_id: String(id), body: taken.body, attempts: taken.attempts, reason, at });
            trimDeadLetters(stmts, queue, at, deadBounds);
          },
          { atomic: true },
        ).then(keyMoves),
    };
  }
}

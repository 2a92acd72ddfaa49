/**
 * The fused pair of the PostgreSQL queue and store on one database and schema (D185, D186).
 *
 * - **Submit.** The submits of one event-loop turn go out in one statement (compiled.ts
 *   `submitBatch`): records and messages, one round trip, one commit — where the two-port path
 *   takes two statements and two commits per submit. A taken id inserts neither its record nor
 *   its message and fails only its own submit (after a look whether the holder expired, as
 *   `create` does); see turn-batch.ts for how the rest of a batch is kept apart from a bad item.
 * - **Finish.** The finishes of one turn go out in one statement too (`TRANSITION_BATCH`): each
 *   one's compare-and-set and its delivery's settle — the settle for "applied" or for "not
 *   applied", chosen in the statement — with the change-feed notifications in the same commit.
 * - **Wake-ups** of the queue's consumers are sent after the commit, outside it (wakeups.ts).
 *
 * @module
 */
import { HqmError } from '../../../core/errors.js';
import { initialRecord } from '../../../core/request/transition.js';
import type { FusedBackend, FusedFinish, FusedSubmission, FusedSubmitted } from '../../../ports/fused.js';
import type { Delivery } from '../../../ports/queue-backend.js';
import type { TransitionResult } from '../../../ports/result-store.js';
import { fusionParts } from '../fusion.js';
import { assertSize, clampPriority } from '../messages.js';
import { readTransition, submitBatch, TRANSITION_BATCH, transitionBatchValues, type SubmitRow, type TransitionItem, type TransitionRow } from './compiled.js';
import type { PgDeliveryFusion, PgQueueFusion, PgStoreFusion } from './fusion.js';
import { REMOVE_EXPIRED } from './sql.js';
import { TurnBatch } from './turn-batch.js';
import { Wakeups } from './wakeups.js';

/** Most submits in one statement: a batch submit of 1,000 goes in one. */
const SUBMIT_BATCH_MAX = 1_000;
const FINISH_BATCH_MAX = 500;

/** The pair, when `queue` and `store` are the PostgreSQL adapters on one database URL and schema. */
export function fuse(queue: unknown, store: unknown): FusedBackend | undefined {
  const q = fusionParts<PgQueueFusion>(queue, 'postgres', 'queue');
  const s = fusionParts<PgStoreFusion>(store, 'postgres', 'store');
  if (q === undefined || s === undefined) return undefined;
  if (q.db.options.postgres_url !== s.db.options.postgres_url || q.db.options.schema !== s.db.options.schema) return undefined;
  return new PgFused(q, s);
}

interface LandedRow {
  readonly id: string;
  readonly message_id: number;
  readonly queue: string;
  readonly visible_at: number;
}

class PgFused implements FusedBackend {
  readonly type = 'postgres+postgres';
  readonly #wakeups: Wakeups;
  readonly #submits: TurnBatch<SubmitRow, LandedRow | undefined>;
  readonly #finishes: TurnBatch<TransitionItem, TransitionRow>;

  constructor(
    private readonly queue: PgQueueFusion,
    private readonly store: PgStoreFusion,
  ) {
    const { db } = store;
    this.#wakeups = new Wakeups(db, queue.logger);
    this.#submits = new TurnBatch(
      async (rows) => {
        const { sql, values } = submitBatch(rows);
        const landed = await db.query<LandedRow>('submitting requests', sql, values);
        this.#wake(landed);
        const byId = new Map(landed.map((row) => [row.id, row]));
        return rows.map((row) => byId.get(row.id));
      },
      (row) => [row.id],
      SUBMIT_BATCH_MAX,
    );
    this.#finishes = new TurnBatch(
      async (items) => {
        const rows = await db.query<TransitionRow>('finishing requests', TRANSITION_BATCH, transitionBatchValues(items, store.channel, store.origin));
        const first = rows[0];
        for (const note of first?.notes ?? []) this.#wakeups.send(queue.channel, note);
        // As the delivery's own deadLetter does: the count cap must see the rows just added.
        await Promise.all((first?.buried ?? []).map((name) => queue.trimDeadLetters(name)));
        return rows;
      },
      // Two finishes of one delivery never come together; if they did, one settle would win, as two settles racing do.
      (item) => [item.transition.id],
      FINISH_BATCH_MAX,
    );
  }

  async submit(submission: FusedSubmission): Promise<FusedSubmitted> {
    this.queue.assertOpen();
    this.store.assertOpen();
    const { message } = submission;
    assertSize(message.body, this.queue.maxMessageBytes);
    const { record } = initialRecord(submission.request);
    const row: SubmitRow = {
      id: record.id,
      queue: record.queue,
      priority: record.priority,
      submittedAt: record.submittedAt,
      deadlineAt: record.deadlineAt,
      expiresAt: record.expiresAt,
      ttlMs: record.ttlMs,
      tenant: record.tenant,
      runAt: record.runAt,
      messageQueue: submission.queue,
      messagePriority: clampPriority(message.priority),
      delayMs: Math.max(0, Math.ceil(message.delayMs ?? 0)),
      partitionKey: message.partitionKey ?? null,
      body: message.body,
    };
    const landed = (await this.#submits.run(row)) ?? (await this.#taken(row));
    this.store.created(record);
    return { record, messageId: String(landed.message_id) };
  }

  /** An id that was taken: free again if its record expired (not swept yet), else a duplicate. */
  async #taken(row: SubmitRow): Promise<LandedRow> {
    const landed = await this.store.db.transaction('submitting a request', async (query) => {
      const [old] = await query(REMOVE_EXPIRED, [row.id, Date.now()]);
      if (old === undefined) throw new HqmError('HQM_ERR_DUPLICATE_ID', `a request with id ${row.id} already exists`, { details: { id: row.id } });
      const { sql, values } = submitBatch([row]);
      const [inserted] = await query<LandedRow>(sql, values);
      if (inserted === undefined) throw new Error('a freed id was taken again within its own transaction');
      return inserted;
    });
    this.#wake([landed]);
    return landed;
  }

  /** One wake-up per queue, for its earliest message: after the commit, outside it (wakeups.ts). */
  #wake(rows: readonly LandedRow[]): void {
    const earliest = new Map<string, number>();
    for (const { queue, visible_at: at } of rows) earliest.set(queue, Math.min(at, earliest.get(queue) ?? at));
    for (const [queue, at] of earliest) this.#wakeups.send(this.queue.channel, `${at}:${queue}`);
  }

  owns(delivery: Delivery): boolean {
    return this.#parts(delivery) !== undefined;
  }

  async finish(delivery: Delivery, finish: FusedFinish): Promise<TransitionResult> {
    const parts = this.#parts(delivery);
    if (parts === undefined) throw new Error("finish: the delivery is not from this pair's queue");
    this.store.assertOpen();
    const transition = this.store.compiled(finish.transition, Date.now());
    const row = await this.#finishes.run({ transition, settle: { messageId: parts.messageId, lease: parts.lease, applied: finish.applied, otherwise: finish.otherwise } });
    return this.store.settled(readTransition(row, transition));
  }

  #parts(delivery: Delivery): PgDeliveryFusion | undefined {
    const parts = fusionParts<PgDeliveryFusion>(delivery, 'postgres', 'delivery');
    return parts?.queue === this.queue ? parts : undefined;
  }
}

/**
 * PostgreSQL statements that do in one round trip, for any number of requests, what used to take
 * a read and a write per request, or two adapters apart (D185):
 *
 * - **Transitions.** The compare-and-set of many records in one statement: each record is locked
 *   and read (`FOR UPDATE`, in id order, so the newest version and no deadlock between batches),
 *   the guard `compileTransition` gives (core) is checked in SQL, the writes land with the trail
 *   events, and the changes are notified — in the one commit of the statement. A claim is the
 *   same with the lease check and `attempt + 1` done in SQL, as the Redis script does. The rows
 *   read come back, so the caller applies the same writes to each (`applyWrites`) to know its new
 *   record, or reports it as the conflict. A fused finish adds its delivery's settle to its row:
 *   the settle for when the transition applied, or for when it did not, chosen in the statement.
 * - **Settles** of one delivery by (id, lease), as CTEs: the queue's own ack, retry, release and
 *   bury are built from them.
 * - **Submits**: records and messages of any number of submits in one statement.
 *
 * Rows go in as one JSON parameter: JSON.stringify escapes bodies and outcomes natively, where
 * the driver's array literals escape them element by element in JavaScript.
 *
 * @module
 */
import type { RequestRecord } from '../../../core/request/record.js';
import { applyWrites, type TransitionGuard, type TransitionWrites } from '../../../core/request/transition.js';
import type { Settlement } from '../../../ports/fused.js';
import { recordFromColumns, type RecordColumns } from '../record-rows.js';

const RECORD_COLUMNS = 'id, status, attempt, version, queue, priority, submitted_at, updated_at, deadline_at, expires_at, ttl_ms, worker_id, progress, error, outcome, tenant, run_at';

/** Free text as PostgreSQL text, which cannot hold NUL (see result-store/postgres/rows.ts). */
function text(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  return value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value;
}

/** One compare-and-set, compiled by core (`compileTransition`) at `now`. */
export interface CompiledTransition {
  readonly id: string;
  readonly now: number;
  readonly guard: TransitionGuard;
  readonly writes: TransitionWrites;
  /** A claim's lease in ms: the statement then decides the attempt (`attempt + 1`) and refuses a live lease. */
  readonly claimLeaseMs: number | null;
}

/** A fused finish's delivery: its message row and lease, and how to settle it either way. */
export interface CompiledSettle {
  readonly messageId: number;
  readonly lease: string;
  readonly applied: Settlement;
  readonly otherwise: Settlement;
}

export interface TransitionItem {
  readonly transition: CompiledTransition;
  readonly settle?: CompiledSettle;
}

/** A settlement as three columns: its kind, its delay (ms, whole) and its reason. */
function settlementColumns(s: Settlement | undefined): [string | null, number | null, string | null] {
  if (s === undefined) return [null, null, null];
  if (s.kind === 'retry' || s.kind === 'release') return [s.kind, Math.max(0, Math.ceil(s.delayMs)), null];
  return [s.kind, null, s.kind === 'deadLetter' ? text(s.reason) : null];
}

function itemColumns({ transition: t, settle }: TransitionItem): unknown[] {
  const { guard, writes } = t;
  const claim = t.claimLeaseMs !== null;
  return [
    t.id,
    guard.from,
    guard.fence.holder,
    guard.fence.rule,
    claim ? null : writes.attempt,
    claim ? null : writes.recordAttempt,
    writes.status,
    writes.workerId === undefined,
    text(writes.workerId),
    writes.error === undefined,
    text(writes.error),
    writes.resetProgress,
    writes.outcome === null ? null : JSON.stringify(writes.outcome),
    writes.restartTtl,
    text(writes.eventError),
    t.claimLeaseMs,
    t.now,
    settle?.messageId ?? null,
    settle?.lease ?? null,
    ...settlementColumns(settle?.applied),
    ...settlementColumns(settle?.otherwise),
  ];
}

/**
 * The transitions (and settles) of `items` in one statement. Record ids must be distinct within
 * it (a second write of a record waits for the next statement, turn-batch.ts). $1 the items (JSON), $2 the store's change-feed channel, $3 this
 * store's origin tag. One row per item, in order: the record as read (all null when gone or
 * expired) with `seq` of its event when the transition applied; and on every row the wake-up
 * payloads of the queue (`notes`), for the caller to send after the commit (wakeups.ts).
 */
export const TRANSITION_BATCH = `
  WITH input AS (
    SELECT v->>0 AS id, ARRAY(SELECT json_array_elements_text(v->1)) AS from_statuses, v->>2 AS holder, v->>3 AS rule,
           (v->>4)::int AS attempt, (v->>5)::int AS kept, v->>6 AS to_status, (v->>7)::boolean AS keep_worker, v->>8 AS worker,
           (v->>9)::boolean AS keep_error, v->>10 AS error, (v->>11)::boolean AS reset_progress, v->>12 AS outcome,
           (v->>13)::boolean AS restart, v->>14 AS event_error, (v->>15)::bigint AS lease_ms, (v->>16)::bigint AS now,
           (v->>17)::bigint AS message_id, v->>18 AS lease,
           v->>19 AS applied_kind, (v->>20)::bigint AS applied_delay, v->>21 AS applied_reason,
           v->>22 AS otherwise_kind, (v->>23)::bigint AS otherwise_delay, v->>24 AS otherwise_reason, j.ord
    FROM json_array_elements($1::json) WITH ORDINALITY AS j(v, ord)),
  o AS (
    SELECT ${RECORD_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')}, r.lease_until
    FROM hqm_requests AS r JOIN input AS i ON r.id = i.id AND r.expires_at > i.now
    ORDER BY r.id FOR UPDATE OF r),
  g AS (
    SELECT o.id, o.status AS was, m.mover, CASE WHEN i.lease_ms IS NULL THEN i.kept ELSE m.mover END AS kept
    FROM o JOIN input AS i ON i.id = o.id,
      LATERAL (SELECT CASE WHEN i.lease_ms IS NULL THEN i.attempt ELSE o.attempt + 1 END AS mover) AS m
    WHERE o.status = ANY(i.from_statuses)
      AND NOT (i.lease_ms IS NOT NULL AND o.status = 'PROCESSING' AND coalesce(o.lease_until, 0) > i.now)
      AND (o.status <> i.holder OR CASE i.rule WHEN 'later' THEN m.mover > o.attempt ELSE m.mover = o.attempt END)),
  u AS (
    UPDATE hqm_requests AS r SET status = i.to_status, attempt = g.kept, updated_at = i.now,
      worker_id = CASE WHEN i.keep_worker THEN r.worker_id ELSE i.worker END,
      error = CASE WHEN i.keep_error THEN r.error ELSE i.error END,
      progress = CASE WHEN i.reset_progress THEN NULL ELSE r.progress END,
      outcome = i.outcome,
      expires_at = CASE WHEN i.restart THEN i.now + r.ttl_ms ELSE r.expires_at END,
      version = r.version + 1,
      lease_until = CASE WHEN i.lease_ms IS NULL THEN r.lease_until ELSE i.now + i.lease_ms END
    FROM g JOIN input AS i ON i.id = g.id
    WHERE r.id = g.id
    RETURNING r.id, r.worker_id),
  e AS (
    INSERT INTO hqm_request_events (request_id, at, from_status, to_status, attempt, worker_id, error)
    SELECT u.id, i.now, g.was, i.to_status, g.mover, u.worker_id, i.event_error
    FROM u JOIN g ON g.id = u.id JOIN input AS i ON i.id = u.id ORDER BY i.ord
    RETURNING seq, request_id, to_status),
  s AS (
    SELECT i.message_id, i.lease,
           CASE WHEN u.id IS NULL THEN i.otherwise_kind ELSE i.applied_kind END AS kind,
           CASE WHEN u.id IS NULL THEN i.otherwise_delay ELSE i.applied_delay END AS delay,
           CASE WHEN u.id IS NULL THEN i.otherwise_reason ELSE i.applied_reason END AS reason
    FROM input AS i LEFT JOIN u ON u.id = i.id WHERE i.message_id IS NOT NULL),
  acked AS (
    DELETE FROM hqm_queue_messages AS q USING s WHERE s.kind = 'ack' AND q.id = s.message_id AND q.lease = s.lease
    RETURNING CASE WHEN q.partition_key IS NULL THEN NULL ELSE hqm_now_ms() || ':' || q.queue END AS note),
  rescheduled AS (
    UPDATE hqm_queue_messages AS q SET lease = NULL, visible_at = hqm_now_ms() + s.delay,
      attempts = q.attempts - CASE WHEN s.kind = 'release' THEN 1 ELSE 0 END
    FROM s WHERE s.kind IN ('retry', 'release') AND q.id = s.message_id AND q.lease = s.lease
    RETURNING q.visible_at || ':' || q.queue AS note),
  taken AS (
    DELETE FROM hqm_queue_messages AS q USING s WHERE s.kind = 'deadLetter' AND q.id = s.message_id AND q.lease = s.lease
    RETURNING q.id, q.queue, q.body, q.attempts, s.reason),
  buried AS (
    INSERT INTO hqm_dead_letters (queue, message_id, body, attempts, reason, dead_lettered_at)
    SELECT queue, id::text, body, attempts, reason, hqm_now_ms() FROM taken
    RETURNING queue, hqm_now_ms() || ':' || queue AS note)
  SELECT o.*, e.seq,
    (SELECT count(pg_notify($2, json_build_object('i', request_id, 's', to_status, 'q', seq, 'o', $3::text)::text)) FROM e) AS notified,
    (SELECT array_agg(note) FROM (SELECT note FROM acked UNION ALL SELECT note FROM rescheduled UNION ALL SELECT note FROM buried) AS n WHERE note IS NOT NULL) AS notes,
    (SELECT array_agg(DISTINCT queue) FROM buried) AS buried
  FROM input AS i LEFT JOIN o ON o.id = i.id LEFT JOIN e ON e.request_id = i.id
  ORDER BY i.ord`;

/** The values of TRANSITION_BATCH. */
export function transitionBatchValues(items: readonly TransitionItem[], channel: string, origin: string): unknown[] {
  return [JSON.stringify(items.map(itemColumns)), channel, origin];
}

/** A row of TRANSITION_BATCH: the record's columns as read (null when it was gone), with the event's number when it applied. */
export type TransitionRow = { readonly [K in keyof RecordColumns]: RecordColumns[K] | null } & {
  readonly lease_until: number | null;
  readonly seq: number | null;
  readonly notes: string[] | null;
  readonly buried: string[] | null;
};

export type CompiledOutcome =
  | { readonly kind: 'not_found' }
  /** The guard refused (or, for a claim, a live lease): the record as it is. */
  | { readonly kind: 'refused'; readonly current: RequestRecord; readonly leaseUntil: number | null }
  | { readonly kind: 'applied'; readonly seq: number; readonly record: RequestRecord };

/** What the statement did to one item, with the new record computed from the row read by the same writes (`applyWrites`). */
export function readTransition(row: TransitionRow | undefined, t: CompiledTransition): CompiledOutcome {
  if (row === undefined || row.id === null) return { kind: 'not_found' };
  const current = recordFromColumns(row as RecordColumns);
  if (row.seq === null) return { kind: 'refused', current, leaseUntil: row.lease_until };
  // A claim's attempt was the record's plus one, decided by the statement.
  const attempt = current.attempt + 1;
  const writes = t.claimLeaseMs === null ? t.writes : { ...t.writes, attempt, recordAttempt: attempt };
  return { kind: 'applied', seq: row.seq, record: applyWrites(current, writes).record };
}

export type SettleKind = Settlement['kind'];

/** One delivery's settle, with the placeholders it uses (its `arg`: a delay in ms, or a dead-letter reason). */
export interface SettleSql {
  readonly kind: SettleKind;
  readonly id: string;
  readonly lease: string;
  readonly arg: string;
}

/**
 * The settle as CTEs, the last one named `name` and returning (queue, note): `note` is the
 * payload that wakes the queue's consumers (`<ms when ready>:<queue>`), or null when the settle
 * lets nothing new go (an ack of a message without a partition key). Matched on (id, lease), so
 * a settle from a lapsed delivery changes nothing. TRANSITION_BATCH settles the same way.
 */
export function settleCtes(name: string, s: SettleSql): string {
  const where = `id = ${s.id} AND lease = ${s.lease}`;
  switch (s.kind) {
    case 'ack':
      return `${name} AS (DELETE FROM hqm_queue_messages WHERE ${where}
        RETURNING queue, CASE WHEN partition_key IS NULL THEN NULL ELSE hqm_now_ms() || ':' || queue END AS note)`;
    case 'retry':
    case 'release': {
      // A release gives back the attempt the claim counted; a retry keeps it.
      const uncount = s.kind === 'release' ? ', attempts = attempts - 1' : '';
      return `${name} AS (UPDATE hqm_queue_messages SET lease = NULL, visible_at = hqm_now_ms() + ${s.arg}${uncount} WHERE ${where}
        RETURNING queue, visible_at || ':' || queue AS note)`;
    }
    case 'deadLetter':
      return `${name}_taken AS (DELETE FROM hqm_queue_messages WHERE ${where} RETURNING id, queue, body, attempts),
      ${name} AS (INSERT INTO hqm_dead_letters (queue, message_id, body, attempts, reason, dead_lettered_at)
        SELECT queue, id::text, body, attempts, ${s.arg}, hqm_now_ms() FROM ${name}_taken
        RETURNING queue, hqm_now_ms() || ':' || queue AS note)`;
  }
}

/** One submit of a fused batch: the new record's columns and its message's. */
export interface SubmitRow {
  readonly id: string;
  readonly queue: string;
  readonly priority: number;
  readonly submittedAt: number;
  readonly deadlineAt: number | null;
  readonly expiresAt: number;
  readonly ttlMs: number;
  readonly tenant: string | null;
  readonly runAt: number | null;
  readonly messageQueue: string;
  readonly messagePriority: number;
  readonly delayMs: number;
  readonly partitionKey: string | null;
  readonly body: string;
}

/**
 * Any number of submits in one statement (one commit): the records whose id is free are
 * inserted, each with its message; a taken id inserts neither and is left out of the result, so
 * its submit alone is refused (or, an expired record's, redone on its own). Message ids are drawn
 * from the table's sequence in submit order, so each submit learns its own. No NOTIFY: the
 * caller wakes the consumers after the commit (wakeups.ts). Ids must be distinct within a batch.
 * Returns (id, message_id, queue, visible_at) per submit that landed.
 */
export function submitBatch(rows: readonly SubmitRow[]): { sql: string; values: unknown[] } {
  const input = rows.map((r) => [r.id, r.queue, r.priority, r.submittedAt, r.deadlineAt, r.expiresAt, r.ttlMs, text(r.tenant), r.runAt, r.messageQueue, r.messagePriority, r.delayMs, r.partitionKey, r.body]);
  return { sql: SUBMIT_BATCH, values: [JSON.stringify(input)] };
}

const SUBMIT_BATCH = `
  WITH input AS (
    SELECT v->>0 AS id, v->>1 AS queue, (v->>2)::int AS priority, (v->>3)::bigint AS submitted_at, (v->>4)::bigint AS deadline_at,
           (v->>5)::bigint AS expires_at, (v->>6)::bigint AS ttl_ms, v->>7 AS tenant, (v->>8)::bigint AS run_at, v->>9 AS m_queue,
           (v->>10)::smallint AS m_priority, (v->>11)::bigint AS m_delay, v->>12 AS m_key, v->>13 AS m_body, j.ord
    FROM json_array_elements($1::json) WITH ORDINALITY AS j(v, ord)),
  r AS (
    INSERT INTO hqm_requests (id, status, attempt, queue, priority, submitted_at, updated_at, deadline_at, expires_at, ttl_ms, tenant, run_at)
    SELECT id, 'PENDING', 0, queue, priority, submitted_at, submitted_at, deadline_at, expires_at, ttl_ms, tenant, run_at FROM input ORDER BY ord
    ON CONFLICT (id) DO NOTHING
    RETURNING id),
  p AS (
    SELECT nextval(pg_get_serial_sequence('hqm_queue_messages', 'id')) AS message_id, input.*
    FROM input WHERE id IN (SELECT id FROM r) ORDER BY ord),
  m AS (
    INSERT INTO hqm_queue_messages (id, queue, priority, visible_at, partition_key, enqueued_at, body)
    SELECT message_id, m_queue, m_priority, hqm_now_ms() + m_delay, m_key, hqm_now_ms(), m_body FROM p
    RETURNING id, queue, visible_at)
  SELECT p.id, p.message_id, m.queue, m.visible_at FROM p JOIN m ON m.id = p.message_id`;

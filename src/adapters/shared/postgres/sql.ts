/**
 * Every statement of the PostgreSQL queue and result store, in one module: the schema steps of
 * both, the queue's claim (FOR UPDATE SKIP LOCKED) and settles, and the store's compare-and-set
 * transition. Kept together so a change to the claim or transition contract (ports v2: store-side
 * claim leases) is made in one place.
 *
 * Times: the queue dates everything by the server's clock (`hqm_now_ms()`, the statement's start),
 * so leases and delays mean the same to every process whatever its own clock; the store keeps the
 * times core computes (as every store does), and the rate windows, which live in SQL alone, the server's.
 *
 * @module
 */
import { settleCtes } from './compiled.js';

/** Epoch ms of the statement's start by the server's clock; STABLE, so an index can compare with it. */
const NOW_FUNCTION = `
  CREATE OR REPLACE FUNCTION hqm_now_ms() RETURNS bigint LANGUAGE sql STABLE
  AS $$ SELECT (extract(epoch FROM statement_timestamp()) * 1000)::bigint $$`;

/** The queue's migrations, in order; never edit a released step, append a new one. */
export const QUEUE_SCHEMA: readonly string[] = [
  `${NOW_FUNCTION};
   CREATE TABLE IF NOT EXISTS hqm_queue_messages (
     id            bigserial PRIMARY KEY,
     queue         text     NOT NULL,
     priority      smallint NOT NULL,
     visible_at    bigint   NOT NULL,
     attempts      integer  NOT NULL DEFAULT 0,
     lease         text,
     partition_key text,
     enqueued_at   bigint   NOT NULL,
     body          text     NOT NULL
   );
   CREATE INDEX IF NOT EXISTS hqm_queue_order ON hqm_queue_messages (queue, priority DESC, id);
   CREATE INDEX IF NOT EXISTS hqm_queue_visible ON hqm_queue_messages (queue, visible_at);
   CREATE INDEX IF NOT EXISTS hqm_queue_partition ON hqm_queue_messages (queue, partition_key, id) WHERE partition_key IS NOT NULL;
   CREATE TABLE IF NOT EXISTS hqm_dead_letters (
     id               bigserial PRIMARY KEY,
     queue            text    NOT NULL,
     message_id       text    NOT NULL,
     body             text    NOT NULL,
     attempts         integer NOT NULL,
     reason           text    NOT NULL,
     dead_lettered_at bigint  NOT NULL
   );
   CREATE INDEX IF NOT EXISTS hqm_dead_letters_queue ON hqm_dead_letters (queue, id);
   CREATE INDEX IF NOT EXISTS hqm_dead_letters_age ON hqm_dead_letters (queue, dead_lettered_at);
   CREATE TABLE IF NOT EXISTS hqm_meta (key text PRIMARY KEY, value text NOT NULL);`,
];

/**
 * The store's migrations. Ids, queues and tenants compare byte-wise (COLLATE "C"): the list
 * order ties by id as core does (code-unit order), whatever the database's collation.
 * `version` grows with every write of a record: the compare-and-set compares it.
 */
export const STORE_SCHEMA: readonly string[] = [
  `${NOW_FUNCTION};
   CREATE TABLE IF NOT EXISTS hqm_requests (
     id           text COLLATE "C" PRIMARY KEY,
     status       text    NOT NULL,
     attempt      integer NOT NULL,
     version      bigint  NOT NULL DEFAULT 0,
     queue        text COLLATE "C" NOT NULL,
     priority     integer NOT NULL,
     submitted_at bigint  NOT NULL,
     updated_at   bigint  NOT NULL,
     deadline_at  bigint,
     expires_at   bigint  NOT NULL,
     ttl_ms       bigint  NOT NULL,
     worker_id    text,
     progress     double precision,
     error        text,
     outcome      text,
     tenant       text COLLATE "C",
     run_at       bigint
   );
   CREATE INDEX IF NOT EXISTS hqm_requests_expiry ON hqm_requests (expires_at);
   CREATE INDEX IF NOT EXISTS hqm_requests_tenant_slots ON hqm_requests (tenant) WHERE status = 'PROCESSING';
   CREATE INDEX IF NOT EXISTS hqm_requests_list ON hqm_requests (submitted_at, id);
   CREATE INDEX IF NOT EXISTS hqm_requests_list_status ON hqm_requests (status, submitted_at, id);
   CREATE INDEX IF NOT EXISTS hqm_requests_list_queue ON hqm_requests (queue, submitted_at, id);
   CREATE INDEX IF NOT EXISTS hqm_requests_list_queue_status ON hqm_requests (queue, status, submitted_at, id);
   CREATE INDEX IF NOT EXISTS hqm_requests_list_tenant ON hqm_requests (tenant, submitted_at, id) WHERE tenant IS NOT NULL;
   CREATE INDEX IF NOT EXISTS hqm_requests_list_tenant_status ON hqm_requests (tenant, status, submitted_at, id) WHERE tenant IS NOT NULL;
   CREATE INDEX IF NOT EXISTS hqm_requests_list_tenant_queue ON hqm_requests (tenant, queue, submitted_at, id) WHERE tenant IS NOT NULL;
   CREATE INDEX IF NOT EXISTS hqm_requests_list_tenant_queue_status ON hqm_requests (tenant, queue, status, submitted_at, id) WHERE tenant IS NOT NULL;
   CREATE TABLE IF NOT EXISTS hqm_request_events (
     seq         bigserial PRIMARY KEY,
     request_id  text COLLATE "C" NOT NULL,
     at          bigint  NOT NULL,
     from_status text,
     to_status   text    NOT NULL,
     attempt     integer NOT NULL,
     worker_id   text,
     error       text,
     note        text
   );
   CREATE INDEX IF NOT EXISTS hqm_request_events_request ON hqm_request_events (request_id, seq);
   CREATE INDEX IF NOT EXISTS hqm_request_events_at ON hqm_request_events (at);
   CREATE TABLE IF NOT EXISTS hqm_idempotency (
     scope       text   NOT NULL,
     key         text   NOT NULL,
     fingerprint text   NOT NULL,
     ids         text   NOT NULL,
     first_id    text   NOT NULL,
     expires_at  bigint NOT NULL,
     PRIMARY KEY (scope, key)
   );
   CREATE INDEX IF NOT EXISTS hqm_idempotency_expiry ON hqm_idempotency (expires_at);
   CREATE TABLE IF NOT EXISTS hqm_analytics (
     hour       bigint NOT NULL,
     queue      text   NOT NULL,
     field      text   NOT NULL,
     n          bigint NOT NULL,
     keep_until bigint NOT NULL,
     PRIMARY KEY (hour, queue, field)
   );
   CREATE INDEX IF NOT EXISTS hqm_analytics_retention ON hqm_analytics (keep_until);
   CREATE TABLE IF NOT EXISTS hqm_rate_windows (
     key       text    PRIMARY KEY,
     resets_at bigint  NOT NULL,
     hits      integer NOT NULL
   );
   CREATE INDEX IF NOT EXISTS hqm_rate_windows_reset ON hqm_rate_windows (resets_at);`,
  // 2: the lease of the attempt that holds a PROCESSING record (ports v2, D130): epoch ms by the claimer's clock.
  'ALTER TABLE hqm_requests ADD COLUMN IF NOT EXISTS lease_until bigint',
  // 3: completed and failed requests per (minute, queue), kept a few minutes (GET /api/v1/queues' last minute).
  `CREATE TABLE IF NOT EXISTS hqm_analytics_minutes (
     minute    bigint NOT NULL,
     queue     text COLLATE "C" NOT NULL,
     completed bigint NOT NULL,
     failed    bigint NOT NULL,
     PRIMARY KEY (minute, queue)
   )`,
];

// ---------------------------------------------------------------------------------------------
// Queue

const MESSAGE_COLUMNS = 'id, body, attempts, priority, partition_key, enqueued_at';

/** $1 queue, $2 priority, $3 delay ms, $4 partition key, $5 body, $6 channel. Notifies the queue's consumers in every process. */
export const PUBLISH = `
  WITH m AS (
    INSERT INTO hqm_queue_messages (queue, priority, visible_at, partition_key, enqueued_at, body)
    VALUES ($1, $2, hqm_now_ms() + $3, $4, hqm_now_ms(), $5)
    RETURNING id, queue, visible_at)
  SELECT id, pg_notify($6, visible_at || ':' || queue) FROM m`;

/**
 * Leases up to $4 ready messages of queue $1 with lease $2 for $3 ms: highest priority first,
 * FIFO within one. SKIP LOCKED lets any number of consumers claim at once without waiting on
 * each other's rows, and a row a concurrent claim leased meanwhile fails the visibility
 * re-check (READ COMMITTED re-evaluates the WHERE on the row it locks). A message with a
 * partition key is a candidate only while it is the oldest of its key, so a key's messages go
 * one at a time, in order; its head may be leased or delayed and then holds the rest back.
 */
export const CLAIM = `
  WITH picked AS (
    SELECT m.id FROM hqm_queue_messages AS m
    WHERE m.queue = $1 AND m.visible_at <= hqm_now_ms()
      AND (m.partition_key IS NULL
           OR m.id = (SELECT min(h.id) FROM hqm_queue_messages AS h WHERE h.queue = m.queue AND h.partition_key = m.partition_key))
    ORDER BY m.priority DESC, m.id
    LIMIT $4
    FOR UPDATE SKIP LOCKED)
  UPDATE hqm_queue_messages AS q SET lease = $2, visible_at = hqm_now_ms() + $3, attempts = q.attempts + 1
  FROM picked WHERE q.id = picked.id
  RETURNING q.${MESSAGE_COLUMNS.split(', ').join(', q.')}`;

/**
 * When the queue's next message comes due (server ms) with the server's now, so the caller can
 * turn it into its own clock. Only candidates count: a message behind its key's head is not due
 * on its own.
 */
export const NEXT_DUE = `
  SELECT hqm_now_ms() AS now, (SELECT min(due) FROM (
      SELECT min(visible_at) AS due FROM hqm_queue_messages WHERE queue = $1 AND partition_key IS NULL
      UNION ALL
      (SELECT DISTINCT ON (partition_key) visible_at FROM hqm_queue_messages
       WHERE queue = $1 AND partition_key IS NOT NULL ORDER BY partition_key, id)) AS heads) AS due`;

/**
 * Settles match on (id, lease): a settle from a delivery whose lease lapsed and was claimed
 * again changes nothing. Each notifies when it may let another message go (the next of a key,
 * a message due later), so consumers in every process look again without waiting for a timer.
 * $1 id, $2 lease, $3 channel. Built from the same CTEs a fused finish uses (compiled.ts).
 */
export const ACK = `WITH ${settleCtes('s', { kind: 'ack', id: '$1', lease: '$2', arg: '' })} SELECT pg_notify($3, note) FROM s WHERE note IS NOT NULL`;

/** $1 id, $2 lease, $3 channel, $4 delay ms. Counts the attempt (it was counted at the claim). */
export const RETRY = `WITH ${settleCtes('s', { kind: 'retry', id: '$1', lease: '$2', arg: '$4' })} SELECT pg_notify($3, note) FROM s`;

/** As RETRY, giving the attempt the claim counted back. */
export const RELEASE = `WITH ${settleCtes('s', { kind: 'release', id: '$1', lease: '$2', arg: '$4' })} SELECT pg_notify($3, note) FROM s`;

/** $1 id, $2 lease, $3 ms from now. */
export const EXTEND = 'UPDATE hqm_queue_messages SET visible_at = hqm_now_ms() + $3 WHERE id = $1 AND lease = $2';

/** Moves the message to the dead letters in one statement. $1 id, $2 lease, $3 channel, $4 reason. */
export const BURY = `WITH ${settleCtes('s', { kind: 'deadLetter', id: '$1', lease: '$2', arg: '$4' })} SELECT queue, pg_notify($3, note) FROM s`;

/** Drops queue $1's dead letters older than $2 ms, and those beyond the newest $3. */
export const TRIM_DEAD = `
  DELETE FROM hqm_dead_letters WHERE queue = $1 AND (dead_lettered_at < hqm_now_ms() - $2 OR id <= (
    SELECT id FROM hqm_dead_letters WHERE queue = $1 ORDER BY id DESC OFFSET $3 LIMIT 1))`;

export const DEAD_QUEUES = 'SELECT DISTINCT queue FROM hqm_dead_letters';

/**
 * Counts of queue $1 in one pass over its rows: those not visible yet are in flight (leased) or
 * delayed; a lapsed lease is ready again. Dead letters younger than $2 ms are counted.
 */
export const STATS = `
  SELECT count(*)::int AS total,
         (count(*) FILTER (WHERE lease IS NOT NULL AND visible_at > hqm_now_ms()))::int AS in_flight,
         (count(*) FILTER (WHERE lease IS NULL AND visible_at > hqm_now_ms()))::int AS delayed,
         min(visible_at) AS oldest, hqm_now_ms() AS now,
         (SELECT count(*)::int FROM hqm_dead_letters WHERE queue = $1 AND dead_lettered_at >= hqm_now_ms() - $2) AS dead
  FROM hqm_queue_messages WHERE queue = $1`;

const DEAD_COLUMNS = 'id, message_id, body, attempts, reason, dead_lettered_at';

/** $1 queue, $2 before id, $3 retention ms, $4 limit. */
export const DEAD_PAGE = `
  SELECT ${DEAD_COLUMNS} FROM hqm_dead_letters
  WHERE queue = $1 AND id < $2 AND dead_lettered_at >= hqm_now_ms() - $3 ORDER BY id DESC LIMIT $4`;
export const DEAD_GET = `SELECT ${DEAD_COLUMNS} FROM hqm_dead_letters WHERE id = $2 AND queue = $1 AND dead_lettered_at >= hqm_now_ms() - $3`;
export const DEAD_REMOVE = 'DELETE FROM hqm_dead_letters WHERE id = $2 AND queue = $1';
export const DEAD_PURGE = 'DELETE FROM hqm_dead_letters WHERE queue = $1 AND dead_lettered_at < $2';

/**
 * Replay: the dead letter goes and its replacement is inserted in one statement, so of two
 * concurrent replays the one whose DELETE finds the row publishes and the other inserts nothing.
 * $1 queue, $2 dead-letter id, $3 priority, $4 delay ms, $5 partition key, $6 body, $7 channel.
 */
export const REPLAY = `
  WITH gone AS (DELETE FROM hqm_dead_letters WHERE id = $2 AND queue = $1 RETURNING id),
  m AS (INSERT INTO hqm_queue_messages (queue, priority, visible_at, partition_key, enqueued_at, body)
        SELECT $1, $3, hqm_now_ms() + $4, $5, hqm_now_ms(), $6 FROM gone
        RETURNING id, queue, visible_at)
  SELECT id, pg_notify($7, visible_at || ':' || queue) FROM m`;

/** Written by whichever process asks first, read by all. $1 key, $2 a fresh value. */
export const SECRET = `
  WITH ins AS (INSERT INTO hqm_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING value)
  SELECT value FROM ins UNION ALL SELECT value FROM hqm_meta WHERE key = $1 LIMIT 1`;

// ---------------------------------------------------------------------------------------------
// Result store

export const RECORD_COLUMNS =
  'id, status, attempt, version, queue, priority, submitted_at, updated_at, deadline_at, expires_at, ttl_ms, worker_id, progress, error, outcome, tenant, run_at';

/** $1…$16: the record's columns in RECORD_COLUMNS order, without `version`. */
export const CREATE = `
  INSERT INTO hqm_requests (id, status, attempt, queue, priority, submitted_at, updated_at, deadline_at, expires_at, ttl_ms, worker_id, progress, error, outcome, tenant, run_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`;

/**
 * A create whose id belongs to an expired record not swept yet: the old record and its trail go
 * and the new one takes the id, in one transaction (the caller's). $1 id, $2 now.
 */
export const REMOVE_EXPIRED = `
  WITH old AS (DELETE FROM hqm_requests WHERE id = $1 AND expires_at <= $2 RETURNING id),
  ev AS (DELETE FROM hqm_request_events WHERE request_id IN (SELECT id FROM old))
  SELECT id FROM old`;

/** The live record $1 at $2. */
export const GET = `SELECT ${RECORD_COLUMNS} FROM hqm_requests WHERE id = $1 AND expires_at > $2`;
export const GET_FOR_UPDATE = `${GET} FOR UPDATE`;
/** A record with the lease of the attempt holding it (claims read both). */
export const GET_WITH_LEASE = `SELECT ${RECORD_COLUMNS}, lease_until FROM hqm_requests WHERE id = $1 AND expires_at > $2`;
export const GET_WITH_LEASE_FOR_UPDATE = `${GET_WITH_LEASE} FOR UPDATE`;

/**
 * Extends the lease of the attempt that holds the record. It counts as a write (version + 1), so
 * a claim that read the lapsed lease before it cannot take the record over on that reading.
 * $1 id, $2 attempt, $3 lease until, $4 now.
 */
export const RENEW_LEASE = `
  UPDATE hqm_requests SET lease_until = $3, version = version + 1
  WHERE id = $1 AND status = 'PROCESSING' AND attempt = $2 AND expires_at > $4
  RETURNING id`;

/**
 * The compare-and-set: writes the planned record only if nobody wrote it since it was read
 * (`version` unchanged, still live), with its trail event, and tells every listening process —
 * one statement, so no reader sees the status without its outcome or its event, and the
 * notification goes out only if it commits.
 * $1 id, $2 version read, $3 now, $4 status, $5 attempt, $6 updated_at, $7 expires_at,
 * $8 deadline_at, $9 worker_id, $10 progress, $11 error, $12 outcome, then the event: $13 at,
 * $14 from, $15 to, $16 attempt, $17 worker, $18 error; $19 channel, $20 origin; $21 a claim's
 * lease (null keeps the lease as it is: only a claim writes one).
 */
export const TRANSITION = `
  WITH u AS (
    UPDATE hqm_requests SET status = $4, attempt = $5, updated_at = $6, expires_at = $7, deadline_at = $8,
           worker_id = $9, progress = $10, error = $11, outcome = $12, version = version + 1,
           lease_until = COALESCE($21::bigint, lease_until)
    WHERE id = $1 AND version = $2 AND expires_at > $3
    RETURNING id),
  e AS (
    INSERT INTO hqm_request_events (request_id, at, from_status, to_status, attempt, worker_id, error)
    SELECT id, $13, $14, $15, $16, $17, $18 FROM u
    RETURNING seq, request_id, to_status)
  SELECT seq, pg_notify($19, json_build_object('i', request_id, 's', to_status, 'q', seq, 'o', $20::text)::text) FROM e`;

/** PROCESSING records of tenant $1 still holding a slot at $2 (core/request/tenant-slots.ts: before their deadline). */
export const TENANT_SLOTS = `
  SELECT count(*)::int AS n FROM hqm_requests
  WHERE tenant = $1 AND status = 'PROCESSING' AND expires_at > $2 AND (deadline_at IS NULL OR deadline_at > $2)`;

/** Serialises the claims of one tenant (the count and the claim must not be split by another's). */
export const LOCK_TENANT = "SELECT pg_advisory_xact_lock(hashtextextended('openhqm.tenant.' || $1, 0))";

/** $1 id, $2 attempt, $3 progress, $4 now, $5 channel, $6 origin. */
export const PROGRESS = `
  WITH u AS (
    UPDATE hqm_requests SET progress = $3, updated_at = $4, version = version + 1
    WHERE id = $1 AND status = 'PROCESSING' AND attempt = $2 AND expires_at > $4
    RETURNING id)
  SELECT pg_notify($5, json_build_object('i', id, 's', 'PROCESSING', 'p', $3::float8, 'o', $6::text)::text) FROM u`;

/** The trail of live record $1 at $2, with its submission time (the creation event is not stored). */
export const EVENTS = `
  SELECT r.submitted_at, e.at, e.from_status, e.to_status, e.attempt, e.worker_id, e.error, e.note
  FROM hqm_requests AS r LEFT JOIN hqm_request_events AS e ON e.request_id = r.id
  WHERE r.id = $1 AND r.expires_at > $2 ORDER BY e.seq`;

/** A note stamped with the live record's status and attempt, in one statement. $1 id, $2 now, $3 note. */
export const NOTE = `
  INSERT INTO hqm_request_events (request_id, at, from_status, to_status, attempt, note)
  SELECT id, $2, status, status, attempt, $3 FROM hqm_requests WHERE id = $1 AND expires_at > $2
  RETURNING seq`;

export const DELETE = `
  WITH r AS (DELETE FROM hqm_requests WHERE id = $1)
  DELETE FROM hqm_request_events WHERE request_id = $1`;

/**
 * One batch of the expiry sweep: up to $2 records expired at $1 and their trails. SKIP LOCKED:
 * processes sweeping at once take different rows, and a record being written is left for later.
 */
export const SWEEP = `
  WITH gone AS (
    DELETE FROM hqm_requests WHERE id IN (
      SELECT id FROM hqm_requests WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
    RETURNING id),
  ev AS (DELETE FROM hqm_request_events WHERE request_id IN (SELECT id FROM gone))
  SELECT count(*)::int AS n FROM gone`;
export const SWEEP_CLAIMS = 'DELETE FROM hqm_idempotency WHERE expires_at <= $1';
export const SWEEP_WINDOWS = 'DELETE FROM hqm_rate_windows WHERE resets_at <= hqm_now_ms()';

/**
 * The catch-up read of the change feed: transitions since $1 (epoch ms, by the writers' clocks),
 * oldest first, $2 at most. Notes are not changes.
 */
export const CHANGES_SINCE = `
  SELECT seq, request_id, to_status FROM hqm_request_events
  WHERE at >= $1 AND note IS NULL ORDER BY at, seq LIMIT $2`;

/**
 * Reserve-or-read in one statement: inserts the claim, or takes over one whose TTL passed; a
 * live claim is left alone and the statement returns nothing. $1 scope, $2 key, $3 fingerprint,
 * $4 ids (JSON), $5 first id, $6 expires_at, $7 now.
 */
export const IDEMPOTENCY_CLAIM = `
  INSERT INTO hqm_idempotency AS i (scope, key, fingerprint, ids, first_id, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, ids = excluded.ids, first_id = excluded.first_id, expires_at = excluded.expires_at
  WHERE i.expires_at <= $7
  RETURNING 1`;
export const IDEMPOTENCY_HELD = 'SELECT fingerprint, ids FROM hqm_idempotency WHERE scope = $1 AND key = $2 AND expires_at > $3';
export const IDEMPOTENCY_RELEASE = 'DELETE FROM hqm_idempotency WHERE scope = $1 AND key = $2 AND first_id = $3';

/** One hit on window $1 of $2 ms, opened by the first hit and dated by the server's clock. */
export const RATE_HIT = `
  INSERT INTO hqm_rate_windows AS w (key, resets_at, hits) VALUES ($1, hqm_now_ms() + $2, 1)
  ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN w.resets_at <= hqm_now_ms() THEN 1 ELSE w.hits + 1 END,
    resets_at = CASE WHEN w.resets_at <= hqm_now_ms() THEN hqm_now_ms() + $2 ELSE w.resets_at END
  RETURNING hits, resets_at - hqm_now_ms() AS reset_in`;

/** Adds counters given as parallel arrays, in one statement (all or nothing). */
export const ANALYTICS_ADD = `
  INSERT INTO hqm_analytics AS a (hour, queue, field, n, keep_until)
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
  ON CONFLICT (hour, queue, field) DO UPDATE SET n = a.n + excluded.n, keep_until = excluded.keep_until`;
export const ANALYTICS_PRUNE = 'DELETE FROM hqm_analytics WHERE keep_until <= $1';
export const ANALYTICS_READ = `
  SELECT hour, queue, field, n FROM hqm_analytics
  WHERE hour >= $1 AND hour < $2 AND keep_until > $3 AND ($4::text IS NULL OR queue = $4)`;

/** Adds per-minute counts: $1 minutes, $2 queues, $3 completed, $4 failed (arrays, one row each). */
export const MINUTES_ADD = `
  INSERT INTO hqm_analytics_minutes AS m (minute, queue, completed, failed)
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[])
  ON CONFLICT (minute, queue) DO UPDATE SET completed = m.completed + excluded.completed, failed = m.failed + excluded.failed`;
/** Forgets the minutes at or before $1 (their keep has passed); the primary key leads with the minute. */
export const MINUTES_PRUNE = 'DELETE FROM hqm_analytics_minutes WHERE minute <= $1';
/** The minutes from $1 on that are still kept (after $2). */
export const MINUTES_READ = 'SELECT minute, queue, completed, failed FROM hqm_analytics_minutes WHERE minute >= $1 AND minute > $2';


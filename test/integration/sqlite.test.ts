import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { factory as queueFactory } from '../../src/adapters/queue/sqlite/index.js';
import { factory as storeFactory, type SqliteResultStore } from '../../src/adapters/result-store/sqlite/index.js';
import { MINUTE_COUNTS_KEPT_MS, MINUTE_MS, minuteOf } from '../../src/core/analytics/minutes.js';
import { silentLogger } from '../../src/ports/logger.js';
import { migrateStore } from '../../src/adapters/result-store/sqlite/schema.js';
import { listSql, type ListShape } from '../../src/adapters/result-store/sqlite/statements.js';
import { describeAnalyticsStore, describeQueueBackend, describeResultStore, newRequest } from '../../src/conformance/index.js';
import { tempDir } from '../helpers/temp.js';

const context = { logger: silentLogger };
const dir = tempDir();

describeQueueBackend('sqlite', async () => {
  const path = join(dir, 'queue.db');
  // Closing without settling stands in for a crash: the lease is in the file and lapses there.
  return { open: (options) => queueFactory.create({ path, ...options }, context), crash: (backend) => backend.close() };
});

describeResultStore('sqlite', async () => {
  const path = join(dir, 'store.db');
  return {
    // Expiry runs only when a test asks for it (`expire`), so a test sees what one run does.
    open: () => storeFactory.create({ path, sweep_interval_ms: 3_600_000 }, context),
    expire: async (store) => void (await (store as SqliteResultStore).sweep()),
    stored: async (_store, ids) => countRows(path, ids),
  };
});

describeAnalyticsStore('sqlite', async () => {
  const path = join(dir, 'analytics.db');
  return { open: () => storeFactory.create({ path }, context) };
});

/** How many of `ids` have a record or an event row left, read on a connection of its own. */
function countRows(path: string, ids: readonly string[]): number {
  const db = new Database(path, { readonly: true });
  try {
    const sql = `SELECT COUNT(*) FROM json_each(?) AS i
                 WHERE EXISTS (SELECT 1 FROM hqm_requests WHERE id = i.value)
                    OR EXISTS (SELECT 1 FROM hqm_request_events WHERE request_id = i.value)`;
    return db.prepare(sql).pluck().get(JSON.stringify(ids)) as number;
  } finally {
    db.close();
  }
}

describe('sqlite minute counts', () => {
  it('deletes minutes past keeping on the next add, through the primary key (no scan)', async () => {
    const path = join(dir, 'minutes.db');
    const store = await storeFactory.create({ path }, context);
    try {
      const now = minuteOf(Date.now());
      const old = now - MINUTE_MS - MINUTE_COUNTS_KEPT_MS - MINUTE_MS;
      // A row left by a process that stopped long ago: nothing has pruned it yet.
      const raw = new Database(path);
      raw.prepare('INSERT INTO hqm_analytics_minutes (minute, queue, completed, failed) VALUES (?, ?, 3, 0)').run(old, 'q');
      const plan = raw.prepare('EXPLAIN QUERY PLAN DELETE FROM hqm_analytics_minutes WHERE minute <= ?').all(0) as Array<{ detail: string }>;
      expect(plan.map((p) => p.detail).join(' ')).toMatch(/SEARCH .*PRIMARY KEY \(minute<\?\)/);
      await store.analytics.addMinutes([{ minute: now, queue: 'q', completed: 1, failed: 0 }]);
      const rows = raw.prepare('SELECT minute FROM hqm_analytics_minutes').pluck().all();
      raw.close();
      expect(rows).toEqual([now]);
    } finally {
      await store.close();
    }
  });
});

describe('sqlite store expiry', () => {
  it('sweeps in small commits, so a submit made as a large sweep starts is not held up behind it', async () => {
    const path = join(dir, 'sweep.db');
    const store = (await storeFactory.create({ path, sweep_interval_ms: 3_600_000 }, context)) as SqliteResultStore;
    try {
      const past = Date.now() - 10_000;
      await Promise.all(Array.from({ length: 5_000 }, () => store.create(newRequest({ submittedAt: past, ttlMs: 1_000 }))));
      const rows = (): number => {
        const db = new Database(path, { readonly: true });
        try {
          return db.prepare('SELECT COUNT(*) FROM hqm_requests').pluck().get() as number;
        } finally {
          db.close();
        }
      };
      const sweep = store.sweep();
      // Committed with the sweep's first batch, not after its last: most expired rows are still there.
      const leftWhenSubmitted = await store.create(newRequest()).then(rows);
      expect(await sweep).toBe(5_000);
      expect(leftWhenSubmitted).toBeGreaterThan(4_000);
      expect(rows()).toBe(1);
    } finally {
      await store.close();
    }
  });
});

describe('sqlite store list', () => {
  it('answers every combination of filters and bounds from its own index, in index order (no scan, no sort)', () => {
    const db = new Database(':memory:');
    try {
      migrateStore(db);
      const flags = ['tenant', 'queue', 'status', 'since', 'until', 'before'] as const;
      for (let bits = 0; bits < 1 << flags.length; bits += 1) {
        const shape = Object.fromEntries(flags.map((flag, i) => [flag, (bits & (1 << i)) !== 0])) as unknown as ListShape;
        const params = { now: 1, limit: 10, tenant: 't', queue: 'q', status: 'PENDING', since: 1, until: 2, before_at: 2, before_id: 'x' };
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${listSql(shape)}`).all(params) as { detail: string }[]).map((r) => r.detail).join(' | ');
        // One step: walking the list index (a range of it when anything bounds it); no temp B-tree to sort.
        expect(plan, JSON.stringify(shape)).toMatch(/^(SCAN|SEARCH) hqm_requests USING INDEX hqm_requests_list\w*( \(.*\))?$/);
        const bounded = shape.tenant || shape.queue || shape.status || shape.since || shape.until || shape.before;
        if (bounded) expect(plan, JSON.stringify(shape)).toMatch(/^SEARCH .*\(\(?(tenant|queue|status|submitted_at)\b/);
      }
    } finally {
      db.close();
    }
  });
});

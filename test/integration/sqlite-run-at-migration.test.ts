import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { factory as storeFactory } from '../../src/adapters/result-store/sqlite/index.js';
import { silentLogger } from '../../src/ports/logger.js';
import { tempDir } from '../helpers/temp.js';

const dir = tempDir('openhqm-sqlite-run-at-');

/** The hqm_requests table as files made before delayed requests existed have it (tenants already there). */
const OLD_SCHEMA = `
  CREATE TABLE hqm_requests (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, attempt INTEGER NOT NULL, queue TEXT NOT NULL, priority INTEGER NOT NULL,
    submitted_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deadline_at INTEGER, expires_at INTEGER NOT NULL,
    ttl_ms INTEGER NOT NULL, worker_id TEXT, progress REAL, error TEXT, outcome TEXT, tenant TEXT
  ) WITHOUT ROWID;`;

describe('SQLite store file from before delayed requests', () => {
  it('gains a run_at column on open: old records read as not delayed, new ones keep their due time', async () => {
    const path = join(dir, 'old.db');
    const old = new Database(path);
    old.exec(OLD_SCHEMA);
    const oldId = randomUUID();
    const now = Date.now();
    old.prepare(`INSERT INTO hqm_requests VALUES (?, 'PENDING', 0, 'default', 0, ?, ?, NULL, ?, 3600000, NULL, NULL, NULL, NULL, 'acme')`).run(oldId, now, now, now + 3_600_000);
    old.close();

    const store = await storeFactory.create({ path }, { logger: silentLogger });
    try {
      expect(await store.get(oldId)).toMatchObject({ id: oldId, status: 'PENDING', tenant: 'acme', runAt: null });
      const runAt = now + 60_000;
      const created = await store.create({ id: randomUUID(), queue: 'default', priority: 0, submittedAt: now, deadlineAt: runAt + 1000, ttlMs: 60_000, runAt });
      expect((await store.get(created.id))?.runAt).toBe(runAt);
    } finally {
      await store.close();
    }
    // A second open (another process, a restart) finds the column there and changes nothing.
    const again = await storeFactory.create({ path }, { logger: silentLogger });
    try {
      expect((await again.get(oldId))?.runAt).toBeNull();
    } finally {
      await again.close();
    }
  });
});

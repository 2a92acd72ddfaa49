import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { factory as storeFactory } from '../../src/adapters/result-store/sqlite/index.js';
import { silentLogger } from '../../src/ports/logger.js';
import { tempDir } from '../helpers/temp.js';

const dir = tempDir('openhqm-sqlite-tenant-');

/** The hqm_requests table as files made before tenants existed have it. */
const OLD_SCHEMA = `
  CREATE TABLE hqm_requests (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, attempt INTEGER NOT NULL, queue TEXT NOT NULL, priority INTEGER NOT NULL,
    submitted_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deadline_at INTEGER, expires_at INTEGER NOT NULL,
    ttl_ms INTEGER NOT NULL, worker_id TEXT, progress REAL, error TEXT, outcome TEXT
  ) WITHOUT ROWID;`;

/** The trail table as files made before notes existed have it. */
const OLD_EVENTS = `
  CREATE TABLE hqm_request_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, at INTEGER NOT NULL, from_status TEXT,
    to_status TEXT NOT NULL, attempt INTEGER NOT NULL, worker_id TEXT, error TEXT
  );`;

describe('SQLite store file from an earlier version', () => {
  it('gains a tenant column on open: old records read with no tenant, new ones keep theirs', async () => {
    const path = join(dir, 'old.db');
    const old = new Database(path);
    old.exec(OLD_SCHEMA);
    const oldId = randomUUID();
    const now = Date.now();
    old.prepare(`INSERT INTO hqm_requests VALUES (?, 'PENDING', 0, 'default', 0, ?, ?, NULL, ?, 3600000, NULL, NULL, NULL, NULL)`).run(oldId, now, now, now + 3_600_000);
    old.close();

    const store = await storeFactory.create({ path }, { logger: silentLogger });
    try {
      expect(await store.get(oldId)).toMatchObject({ id: oldId, status: 'PENDING', tenant: null });
      const created = await store.create({ id: randomUUID(), queue: 'default', priority: 0, submittedAt: now, deadlineAt: null, ttlMs: 60_000, tenant: 'acme' });
      expect((await store.get(created.id))?.tenant).toBe('acme');
    } finally {
      await store.close();
    }
    // A second open (another process, a restart) finds the column there and changes nothing.
    const again = await storeFactory.create({ path }, { logger: silentLogger });
    await again.close();
  });

  it('gains a note column on the trail: old events read as transitions, notes can be added', async () => {
    const path = join(dir, 'old-trail.db');
    const old = new Database(path);
    old.exec(OLD_SCHEMA);
    old.exec(OLD_EVENTS);
    const id = randomUUID();
    const now = Date.now();
    old.prepare(`INSERT INTO hqm_requests VALUES (?, 'PROCESSING', 1, 'default', 0, ?, ?, NULL, ?, 3600000, 'w1', NULL, NULL, NULL)`).run(id, now, now, now + 3_600_000);
    old.prepare(`INSERT INTO hqm_request_events (request_id, at, from_status, to_status, attempt, worker_id, error) VALUES (?, ?, 'PENDING', 'PROCESSING', 1, 'w1', NULL)`).run(id, now);
    old.close();

    const store = await storeFactory.create({ path }, { logger: silentLogger });
    try {
      expect(await store.appendNote(id, { kind: 'webhook', detail: { status: 200 } })).toBe(true);
      const trail = await store.events(id);
      expect(trail.map((e) => [e.from, e.to, e.note?.kind ?? null])).toEqual([
        [null, 'PENDING', null],
        ['PENDING', 'PROCESSING', null],
        ['PROCESSING', 'PROCESSING', 'webhook'],
      ]);
      expect(trail[1]).not.toHaveProperty('note');
    } finally {
      await store.close();
    }
  });
});

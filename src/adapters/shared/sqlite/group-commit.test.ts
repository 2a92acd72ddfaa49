import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

const open: Database.Database[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

function setup(path = ':memory:'): { db: Database.Database; commit: GroupCommit; rows: () => number[] } {
  const db = new Database(path);
  open.push(db);
  db.exec('CREATE TABLE t (v INTEGER PRIMARY KEY)');
  const commit = new GroupCommit(db, (error) => error);
  const rows = () => db.prepare<[], { v: number }>('SELECT v FROM t ORDER BY v').all().map((r) => r.v);
  return { db, commit, rows };
}

describe('GroupCommit', () => {
  it('commits the ops of one turn together, each failing on its own', async () => {
    // On a file, so a second connection can tell what is committed when.
    const path = join(mkdtempSync(join(tmpdir(), 'openhqm-group-commit-')), 't.db');
    const { db, commit, rows } = setup(path);
    const reader = new Database(path, { readonly: true });
    open.push(reader);
    const committed = (): number => reader.prepare<[], { n: number }>('SELECT count(*) AS n FROM t').get()?.n ?? -1;
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    let committedBeforeLast = -1;
    const last = (): void => {
      insert.run(2);
      committedBeforeLast = committed();
    };
    const results = await Promise.allSettled([commit.run(() => insert.run(1)), commit.run(() => insert.run(1)), commit.run(last)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(rows()).toEqual([1, 2]);
    // The first op's row was not committed on its own: the turn's ops share one commit.
    expect(committedBeforeLast).toBe(0);
    expect(committed()).toBe(2);
  });

  it('undoes an atomic op that fails after its first write, keeping the others', async () => {
    const { db, commit, rows } = setup();
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const first = commit.run(() => insert.run(1));
    const halfDone = commit.run(
      () => {
        insert.run(10);
        insert.run(1); // Conflicts with the op queued before it in the same batch.
      },
      { atomic: true },
    );
    await expect(halfDone).rejects.toThrow(/UNIQUE/);
    await first;
    expect(rows()).toEqual([1]);
  });

  it('rejects every op of a batch whose transaction SQLite ended', async () => {
    const { db, commit, rows } = setup();
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const earlier = commit.run(() => insert.run(1));
    // Stands in for SQLITE_FULL or an I/O error, after which SQLite has rolled everything back.
    const fatal = commit.run(() => {
      db.exec('ROLLBACK');
      throw new Error('disk full');
    });
    const later = commit.run(() => insert.run(2));
    const results = await Promise.allSettled([earlier, fatal, later]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(rows()).toEqual([]);
  });
});

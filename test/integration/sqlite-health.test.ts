/**
 * A broken SQLite database is not "ready": the API on the SQLite queue and store, with its
 * database file deleted, replaced, overwritten or corrupted underneath it.
 */
import { copyFileSync, openSync, closeSync, rmSync, writeSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { factory as queueFactory } from '../../src/adapters/queue/sqlite/index.js';
import { factory as storeFactory } from '../../src/adapters/result-store/sqlite/index.js';
import { buildApi } from '../../src/api/build-api.js';
import { HqmEvents } from '../../src/core/events.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { QueueBackend } from '../../src/ports/queue-backend.js';
import type { ResultStore } from '../../src/ports/result-store.js';
import { apiOptions } from '../helpers/api.js';
import { tempDir } from '../helpers/temp.js';

const context = { logger: silentLogger };
const dir = tempDir();
let files = 0;

interface SqliteApp {
  readonly app: FastifyInstance;
  readonly queue: QueueBackend;
  readonly store: ResultStore;
  readonly path: string;
}

const open: SqliteApp[] = [];
afterEach(async () => {
  await Promise.all(
    open.splice(0).map(async ({ app, queue, store }) => {
      await app.close();
      await queue.close();
      await store.close();
    }),
  );
});

async function sqliteApp(path = join(dir, `db-${(files += 1)}.db`)): Promise<SqliteApp> {
  const queue = await queueFactory.create({ path }, context);
  const store = await storeFactory.create({ path }, context);
  const app = await buildApi({ queue, store, events: new HqmEvents(), options: apiOptions() });
  const opened = { app, queue, store, path };
  open.push(opened);
  return opened;
}

const submit = (app: FastifyInstance) => app.inject({ method: 'POST', url: '/api/v1/submit', payload: { payload: { n: 1 } } });
const ready = (app: FastifyInstance) => app.inject({ method: 'GET', url: '/health/ready' });

/** Overwrites `bytes` at `offset` of the file. */
function scribble(path: string, offset: number, bytes: number): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.alloc(bytes, 0x5a), 0, bytes, offset);
  } finally {
    closeSync(fd);
  }
}

describe('SQLite readiness', () => {
  it('is ready, and takes submits, on a sound file', async () => {
    const { app } = await sqliteApp();
    expect((await submit(app)).statusCode).toBe(202);
    const res = await ready(app);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ready', components: { queue: 'ready', cache: 'ready' } });
  });

  it('deleted under a running app: not ready, and submits answer 503 instead of writing into the unlinked file', async () => {
    const { app, path } = await sqliteApp();
    expect((await submit(app)).statusCode).toBe(202);
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
    const probe = await ready(app);
    expect(probe.statusCode).toBe(503);
    expect(probe.json<{ components: Record<string, string> }>().components.cache).toMatch(/deleted/);
    const refused = await submit(app);
    expect(refused.statusCode).toBe(503);
    expect(refused.json()).toMatchObject({ code: 'HQM_ERR_BACKEND_UNAVAILABLE' });
  });

  it('a submit right after the file is deleted is refused, before any probe has run', async () => {
    const { app, path } = await sqliteApp();
    rmSync(path);
    expect((await submit(app)).statusCode).toBe(503);
  });

  it('replaced under a running app (another file moved to its path): not ready, submits 503', async () => {
    const { app, path } = await sqliteApp();
    expect((await submit(app)).statusCode).toBe(202);
    const copy = `${path}.copy`;
    copyFileSync(path, copy);
    renameSync(copy, path);
    const probe = await ready(app);
    expect(probe.statusCode).toBe(503);
    expect(probe.json<{ components: Record<string, string> }>().components.queue).toMatch(/replaced/);
    expect((await submit(app)).statusCode).toBe(503);
  });

  it('its header overwritten under a running app: not ready', async () => {
    const { app, path } = await sqliteApp();
    expect((await submit(app)).statusCode).toBe(202);
    scribble(path, 0, 100);
    const probe = await ready(app);
    expect(probe.statusCode).toBe(503);
    expect(probe.json<{ components: Record<string, string> }>().components.cache).toMatch(/not an SQLite database/);
  });

  it('a table corrupted on disk: the probe reads the tables, so it is not ready while submits fail', async () => {
    const path = join(dir, 'corrupt.db');
    const first = await sqliteApp(path);
    for (let i = 0; i < 20; i += 1) expect((await submit(first.app)).statusCode).toBe(202);
    await first.app.close();
    await first.queue.close();
    await first.store.close();
    // The last connection closed, so everything is checkpointed into the file. Ruin the page
    // that holds the request records (and only that: the schema on page 1 stays readable).
    const db = new Database(path, { readonly: true });
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const root = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'hqm_requests'").pluck().get() as number;
    db.close();
    scribble(path, (root - 1) * pageSize, pageSize);

    const { app } = await sqliteApp(path);
    expect((await submit(app)).statusCode).toBe(503);
    const probe = await ready(app);
    expect(probe.statusCode).toBe(503);
    expect(probe.json<{ components: Record<string, string> }>().components.cache).toMatch(/corrupt|malformed/);
  });
});

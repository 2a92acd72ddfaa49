/**
 * One SQLite connection per database file per process, shared by the SQLite queue and the
 * SQLite result store, so their writes of one event-loop turn go out in one commit. The handle
 * is reference-counted: the last `release()` commits what is pending and closes the file.
 *
 * better-sqlite3 is loaded lazily, so choosing another backend never loads the native module.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Database } from 'better-sqlite3';
import { HqmError } from '../../../core/errors.js';
import { translateSqliteError } from './errors.js';
import { FileGuard } from './file-guard.js';
import { GroupCommit } from './group-commit.js';

/** How often the file is looked at (deleted, replaced, overwritten) besides probes and commits. */
const FILE_CHECK_MS = 1000;

export interface SqliteOptions {
  /** File path, or ':memory:' (then only this process sees it). */
  readonly path: string;
  readonly synchronous: 'OFF' | 'NORMAL' | 'FULL';
  readonly busyTimeoutMs: number;
}

export interface SqliteHandle {
  readonly db: Database;
  readonly path: string;
  readonly commit: GroupCommit;
  /** In-process signals between the adapters sharing this file ('published', 'scheduled', 'fault'). */
  readonly local: EventEmitter;
  /**
   * Looks at the file now (see file-guard.ts): the fault that makes it unusable — deleted,
   * replaced, overwritten, corrupt — or undefined. Once found, a fault stays, every commit is
   * refused with HQM_ERR_BACKEND_UNAVAILABLE, and 'fault' is emitted on `local` once.
   */
  inspect(): string | undefined;
  /** Runs a read, translating driver errors (and noting corruption) like a write. */
  read<T>(op: () => T): T;
  /**
   * Calls `listener` when another process has committed to the file, checked every
   * `intervalMs` while at least one listener is registered. Returns the unsubscribe function.
   */
  watchExternalCommits(listener: () => void, intervalMs: number): () => void;
  release(): void;
}

interface Shared {
  handle: SqliteHandle;
  refs: number;
}

const open = new Map<string, Promise<Shared>>();

export async function acquireSqlite(options: SqliteOptions): Promise<SqliteHandle> {
  const key = options.path === ':memory:' ? ':memory:' : resolve(options.path);
  let shared = open.get(key);
  if (shared === undefined) {
    shared = openShared(key, options);
    open.set(key, shared);
    shared.catch(() => open.delete(key));
  }
  const entry = await shared;
  entry.refs += 1;
  return entry.handle;
}

async function openShared(key: string, options: SqliteOptions): Promise<Shared> {
  const { default: BetterSqlite } = await import('better-sqlite3');
  let db: Database;
  try {
    if (key !== ':memory:') mkdirSync(dirname(key), { recursive: true });
    db = new BetterSqlite(key, { timeout: options.busyTimeoutMs });
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous}`);
    db.pragma('temp_store = MEMORY');
  } catch (cause) {
    throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', `cannot open SQLite database at ${key}: ${(cause as Error).message}`, {
      cause,
      retryable: false,
    });
  }
  const entry: Shared = { refs: 0, handle: undefined as unknown as SqliteHandle };
  const { handle, dispose } = createHandle(db, key, FileGuard.opened(key), () => {
    entry.refs -= 1;
    if (entry.refs > 0) return;
    open.delete(key);
    dispose();
  });
  entry.handle = handle;
  return entry;
}

function createHandle(db: Database, path: string, guard: FileGuard, release: () => void): { handle: SqliteHandle; dispose: () => void } {
  const external = new Set<() => void>();
  let timer: NodeJS.Timeout | undefined;
  let lastVersion = 0;
  let interval = Number.POSITIVE_INFINITY;
  const versionStmt = db.prepare('PRAGMA data_version').pluck();

  const poll = (): void => {
    let version: number;
    try {
      version = versionStmt.get() as number;
    } catch {
      return; // The file is busy or closing; the next tick will try again.
    }
    if (version === lastVersion) return;
    lastVersion = version;
    for (const listener of [...external]) listener();
  };
  const restartTimer = (): void => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    if (external.size === 0) return;
    timer = setInterval(poll, interval);
    timer.unref();
  };

  const local = new EventEmitter().setMaxListeners(0);
  let announced = false;
  const noted = (fault: string | undefined): string | undefined => {
    if (fault !== undefined && !announced) {
      announced = true;
      local.emit('fault', fault);
    }
    return fault;
  };
  const translate = (error: unknown): unknown => {
    guard.observe(error);
    noted(guard.fault);
    return translateSqliteError(error);
  };
  // One stat per commit, so not one write lands in a deleted or replaced file once it is gone.
  const beforeCommit = (): void => {
    const fault = noted(guard.quickCheck());
    if (fault !== undefined) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', `SQLite is unavailable: ${fault}; nothing was written`, { details: { fault } });
  };
  const commit = new GroupCommit(db, translate, beforeCommit);
  const fileCheck = setInterval(() => noted(guard.fullCheck()), FILE_CHECK_MS);
  fileCheck.unref();
  const handle: SqliteHandle = {
    db,
    path,
    commit,
    local,
    inspect: () => noted(guard.fullCheck()),
    read(op) {
      try {
        return op();
      } catch (error) {
        throw translate(error);
      }
    },
    watchExternalCommits(listener, intervalMs) {
      if (external.size === 0) lastVersion = versionStmt.get() as number;
      external.add(listener);
      if (intervalMs < interval) interval = intervalMs;
      restartTimer();
      return () => {
        external.delete(listener);
        if (external.size === 0) interval = Number.POSITIVE_INFINITY;
        restartTimer();
      };
    },
    release,
  };
  const dispose = (): void => {
    clearInterval(fileCheck);
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    external.clear();
    commit.flushNow();
    db.close();
  };
  return { handle, dispose };
}

/**
 * Is the file this process has open still the database at its path? SQLite keeps writing to an
 * open file after it was deleted (into an unlinked inode, lost at the next restart) or replaced
 * (into the old one, while other processes use the new), and it keeps serving pages from its
 * cache and the WAL long after the file's header was overwritten. None of that makes a statement
 * fail, so the guard looks from outside: the path must still name the same device and inode as
 * when it was opened, and its first bytes must still be SQLite's magic string. An operation that
 * reported corruption counts too.
 *
 * A fault is sticky: a deleted, replaced or corrupted database does not come back by itself,
 * and the process stays not-ready (and refuses writes) until it is restarted on a good file.
 *
 * @module
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const CORRUPTION = /^SQLITE_(CORRUPT|NOTADB)/;

interface Identity {
  readonly dev: number;
  readonly ino: number;
}

export class FileGuard {
  #fault: string | undefined;

  private constructor(
    private readonly path: string,
    private readonly identity: Identity | undefined,
  ) {}

  /** Call right after opening `path`; ':memory:' is never checked. */
  static opened(path: string): FileGuard {
    if (path === ':memory:') return new FileGuard(path, undefined);
    const { dev, ino } = statSync(path);
    return new FileGuard(path, { dev, ino });
  }

  /** The fault found so far, if any (a description for /health/ready and for errors). */
  get fault(): string | undefined {
    return this.#fault;
  }

  /** The cheap part (one stat of the path, a few µs): deleted or replaced. Run before each commit. */
  quickCheck(): string | undefined {
    if (this.#fault !== undefined || this.identity === undefined) return this.#fault;
    let now: Identity;
    try {
      now = statSync(this.path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return this.#trip(code === 'ENOENT' ? `the database file ${this.path} was deleted while open` : `the database file ${this.path} cannot be examined (${code ?? 'error'})`);
    }
    if (now.dev !== this.identity.dev || now.ino !== this.identity.ino) return this.#trip(`the database file ${this.path} was replaced by another file while open`);
    return undefined;
  }

  /** Everything: the quick check, then the header's magic string. Run by probes and periodically. */
  fullCheck(): string | undefined {
    const quick = this.quickCheck();
    if (quick !== undefined || this.identity === undefined) return quick;
    const header = Buffer.alloc(MAGIC.length);
    let read = 0;
    try {
      const fd = openSync(this.path, 'r');
      try {
        read = readSync(fd, header, 0, header.length, 0);
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      return this.#trip(`the database file ${this.path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    // An empty file is one SQLite has not written its first page to yet.
    if (read > 0 && !header.subarray(0, read).equals(MAGIC.subarray(0, read))) return this.#trip(`the database file ${this.path} is not an SQLite database any more (its header was overwritten)`);
    return undefined;
  }

  /** Notes a driver error that means the file is corrupt (SQLITE_CORRUPT, SQLITE_NOTADB). */
  observe(error: unknown): void {
    const code = (error as { code?: unknown } | null)?.code;
    if (this.#fault === undefined && typeof code === 'string' && CORRUPTION.test(code)) this.#trip(`the database file ${this.path} is corrupt (${code})`);
  }

  #trip(fault: string): string {
    this.#fault ??= fault;
    return this.#fault;
  }
}

/**
 * `auth.api_keys_file`: a YAML or JSON list of keys, read at start-up (a broken file stops
 * start-up) and re-read whenever it changes. Changes are found by polling the file's status
 * (modification time, size, inode) rather than by fs.watch, which misses the symlink swap
 * Kubernetes uses to update a mounted secret and an editor's rename-over-original. A broken
 * edit keeps the keys in force and is reported once, until the file changes again.
 *
 * @module
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { ApiKeyEntry } from './api-keys.js';

export interface KeyFileOptions {
  readonly path: string;
  /** How often the file's status is checked; 0: read once, never reloaded. */
  readonly pollMs: number;
  /** Turns the file's text into entries; throws, naming the problem, on a broken file. */
  readonly parse: (text: string) => readonly ApiKeyEntry[];
  readonly onReload: (entries: readonly ApiKeyEntry[]) => void;
  readonly onError: (error: Error) => void;
}

export class KeyFileWatcher {
  readonly entries: readonly ApiKeyEntry[];
  #seen: string;
  #timer: NodeJS.Timeout | undefined;
  #checking = false;

  /** Reads the file now: throws when it cannot be read or parsed. */
  constructor(private readonly options: KeyFileOptions) {
    this.#seen = signature(statSync(options.path));
    this.entries = options.parse(readFileSync(options.path, 'utf8'));
    if (options.pollMs > 0) {
      this.#timer = setInterval(() => void this.check(), options.pollMs);
      this.#timer.unref();
    }
  }

  /** Re-reads the file if it changed since the last look. Never throws. */
  async check(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      let now: string;
      try {
        now = signature(await stat(this.options.path));
      } catch (error) {
        now = 'missing';
        if (this.#seen !== now) this.options.onError(new Error(`cannot read ${this.options.path}: ${(error as Error).message}; the keys in force stay`));
        this.#seen = now;
        return;
      }
      if (now === this.#seen) return;
      this.#seen = now;
      let entries: readonly ApiKeyEntry[];
      try {
        entries = this.options.parse(await readFile(this.options.path, 'utf8'));
      } catch (error) {
        this.options.onError(new Error(`${this.options.path} was changed but is broken; the keys in force stay: ${(error as Error).message}`, { cause: error }));
        return;
      }
      this.options.onReload(entries);
    } finally {
      this.#checking = false;
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

function signature(s: Stats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

/**
 * The operator's API key or token: kept in sessionStorage (gone with the tab, never in the URL,
 * never in localStorage), read on every call so a change applies at once.
 *
 * @module
 */

const KEY = 'openhqm.dashboard.credential';

/** The part of Storage this needs (sessionStorage in the page, a map in tests). */
export type KeyValueStore = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export class CredentialStore {
  readonly #listeners = new Set<() => void>();

  constructor(private readonly storage: KeyValueStore) {}

  get(): string | null {
    const value = this.storage.getItem(KEY);
    return value === null || value === '' ? null : value;
  }

  /** Trims what was typed or pasted; an empty value forgets the credential. */
  set(value: string): void {
    const trimmed = value.trim();
    if (trimmed === '') this.storage.removeItem(KEY);
    else this.storage.setItem(KEY, trimmed);
    for (const listener of [...this.#listeners]) listener();
  }

  clear(): void {
    this.set('');
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

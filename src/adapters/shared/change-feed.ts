/** The listener list behind every store's `onChange`. */
import type { ChangeListener, RecordChange } from '../../ports/result-store.js';

export class ChangeFeed {
  readonly #listeners = new Set<ChangeListener>();

  get size(): number {
    return this.#listeners.size;
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  emit(change: RecordChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure is its own; the change it hears about is already applied.
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}

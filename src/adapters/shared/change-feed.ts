/** The listener list behind every store's `onChange`. */
import type { Logger } from '../../ports/logger.js';
import type { ChangeListener, RecordChange } from '../../ports/result-store.js';

export class ChangeFeed {
  readonly #listeners = new Set<ChangeListener>();

  constructor(private readonly logger: Logger) {}

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
      } catch (error) {
        // A listener's failure is its own (the change is already applied, and the other
        // listeners still hear of it), but a bug all the same: say which change it choked on.
        this.logger.error({ err: error, correlation_id: change.id, status: change.status }, 'a change listener threw; the other listeners were still told');
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}

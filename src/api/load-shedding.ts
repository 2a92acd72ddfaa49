/**
 * Load shedding on queue depth: submits are refused (503 + Retry-After) while more than
 * `max` messages wait, instead of letting the queue grow without bound. The depth is read
 * from the backend at most every `refreshMs`, in the background, so no submit waits for it.
 *
 * @module
 */
import { HqmError } from '../core/errors.js';
import type { QueueBackend } from '../ports/queue-backend.js';

export class DepthGate {
  #depth = 0;
  #readAt = 0;
  #reading = false;

  constructor(
    private readonly queue: QueueBackend,
    private readonly queueName: string,
    private readonly max: number,
    private readonly refreshMs = 250,
  ) {}

  /** Throws HQM_ERR_OVERLOADED when the last known depth is at or above the limit. */
  check(): void {
    if (this.max === 0) return;
    this.#refresh();
    if (this.#depth >= this.max) {
      throw new HqmError('HQM_ERR_OVERLOADED', `the queue holds ${this.#depth} waiting requests (api.max_queue_depth is ${this.max}); try again shortly`, {
        details: { depth: this.#depth, max: this.max },
      });
    }
  }

  #refresh(): void {
    const now = Date.now();
    if (this.#reading || now - this.#readAt < this.refreshMs) return;
    this.#reading = true;
    this.#readAt = now;
    this.queue
      .stats(this.queueName)
      .then((stats) => {
        this.#depth = stats.depth;
      })
      .catch(() => undefined) // An unreachable backend fails the submit itself, with its own 503.
      .finally(() => {
        this.#reading = false;
      });
  }
}

/**
 * Load shedding on queue depth: submits are refused (503 + Retry-After) while more than
 * `max` messages wait in the queue they go to, instead of letting it grow without bound. Each
 * named queue is watched on its own (a full `batched` queue does not refuse `high`). The depth is read
 * from the backend at most every `refreshMs`, in the background, so no submit waits for it;
 * the submits this process let through since that read began are added to it, so a burst
 * between two reads cannot pass the limit (other API processes' submits show at the next read).
 *
 * @module
 */
import { HqmError } from '../core/errors.js';
import type { QueueBackend } from '../ports/queue-backend.js';

/** The gate of every backend queue a submit may go to, made on first use. */
export class DepthGates {
  readonly #gates = new Map<string, DepthGate>();

  constructor(
    private readonly queue: QueueBackend,
    private readonly max: number,
    private readonly refreshMs = 250,
  ) {}

  /** Throws HQM_ERR_OVERLOADED when `queueName` is at or above the limit; else counts the submit in. */
  check(queueName: string): void {
    if (this.max === 0) return;
    let gate = this.#gates.get(queueName);
    if (gate === undefined) {
      gate = new DepthGate(this.queue, queueName, this.max, this.refreshMs);
      this.#gates.set(queueName, gate);
    }
    gate.check();
  }
}

export class DepthGate {
  #depth = 0;
  /** Submits let through since the last completed read began (the read may not count them). */
  #passedSinceRead = 0;
  #passedTotal = 0;
  #readAt = 0;
  #reading = false;

  constructor(
    private readonly queue: QueueBackend,
    private readonly queueName: string,
    private readonly max: number,
    private readonly refreshMs = 250,
  ) {}

  /** Throws HQM_ERR_OVERLOADED when the estimated depth is at or above the limit; else counts the submit in. */
  check(): void {
    if (this.max === 0) return;
    this.#refresh();
    const depth = this.#depth + this.#passedSinceRead;
    if (depth >= this.max) {
      throw new HqmError('HQM_ERR_OVERLOADED', `the queue holds about ${depth} waiting requests (api.max_queue_depth is ${this.max}); try again shortly`, {
        details: { depth, max: this.max, queue: this.queueName },
      });
    }
    this.#passedSinceRead += 1;
    this.#passedTotal += 1;
  }

  #refresh(): void {
    const now = Date.now();
    if (this.#reading || now - this.#readAt < this.refreshMs) return;
    this.#reading = true;
    this.#readAt = now;
    const passedBefore = this.#passedTotal;
    this.queue
      .stats(this.queueName)
      .then((stats) => {
        this.#depth = stats.depth;
        this.#passedSinceRead = this.#passedTotal - passedBefore;
      })
      .catch(() => {
        // An unreachable backend fails the submits themselves, with their own 503; without a
        // fresh depth, counting on would end in shedding everything once the backend is back.
        this.#passedSinceRead = 0;
      })
      .finally(() => {
        this.#reading = false;
      });
  }
}

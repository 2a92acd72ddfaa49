/**
 * `queue.type: memory` — the reference implementation of the QueueBackend contract, in one
 * process and not durable. For tests and demos; the conformance suite runs against it first.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { HqmError } from '../../../core/errors.js';
import type { QueueBackendFactory } from '../../../ports/adapter.js';
import type { HealthReport } from '../../../ports/health.js';
import type { Logger } from '../../../ports/logger.js';
import type {
  ConsumeOptions,
  DeadLetter,
  DeadLetterPage,
  Delivery,
  DeliveryHandler,
  OutboundMessage,
  PublishReceipt,
  QueueBackend,
  QueueCapabilities,
  QueueStats,
  Subscription,
} from '../../../ports/queue-backend.js';
import { STORED_QUEUE_VALUES } from '../../shared/capabilities.js';
import { DEFAULT_DEAD_LETTER_BOUNDS, deadLetterBounds, deadLetterOptionsSchema, type DeadLetterBounds } from '../../shared/dead-letters.js';
import { assertSize, clampPriority } from '../../shared/messages.js';
import { parseOptions } from '../../shared/options.js';
import { PullConsumer } from '../../shared/pull-consumer.js';
import { QueueState, type StoredMessage } from './queue-state.js';

export const factory: QueueBackendFactory = {
  type: 'memory',
  async create(raw, context) {
    const options = parseOptions(deadLetterOptionsSchema, raw, 'queue');
    return new MemoryQueue(context.logger.child({ component: 'queue', backend: 'memory' }), deadLetterBounds(options));
  },
};

export class MemoryQueue implements QueueBackend {
  readonly type = 'memory';
  readonly capabilities: QueueCapabilities = {
    ...STORED_QUEUE_VALUES,
    delay: true,
    priority: true,
    fifo: true,
    maxMessageBytes: 16 * 1024 * 1024,
    durable: false,
    shared: false,
    partitionOrdering: true,
  };
  readonly #queues = new Map<string, QueueState>();
  readonly #consumers = new Map<string, Set<PullConsumer>>();
  #nextId = 1;
  #leases = 0;
  #closed = false;
  readonly #secret = randomBytes(32).toString('hex');

  constructor(
    private readonly logger: Logger,
    private readonly deadBounds: DeadLetterBounds = DEFAULT_DEAD_LETTER_BOUNDS,
  ) {}

  async publish(queue: string, message: OutboundMessage): Promise<PublishReceipt> {
    this.#assertOpen();
    assertSize(message.body, this.capabilities.maxMessageBytes);
    const now = Date.now();
    const delay = Math.max(0, message.delayMs ?? 0);
    const stored: StoredMessage = {
      id: this.#nextId++,
      body: message.body,
      priority: clampPriority(message.priority),
      partitionKey: message.partitionKey ?? null,
      enqueuedAt: now,
      state: delay > 0 ? 'waiting' : 'ready',
      visibleAt: now + delay,
      attempts: 0,
      lease: null,
      version: 0,
    };
    this.#state(queue).add(stored);
    this.#notify(queue, stored.visibleAt);
    return { messageId: String(stored.id) };
  }

  consume(queue: string, options: ConsumeOptions, handler: DeliveryHandler): Subscription {
    this.#assertOpen();
    const state = this.#state(queue);
    const set = this.#consumers.get(queue) ?? new Set<PullConsumer>();
    this.#consumers.set(queue, set);
    const consumer: PullConsumer = new PullConsumer(
      {
        claim: async (limit) => {
          const lease = `m${(this.#leases += 1)}`;
          const now = Date.now();
          return state.claim(limit, now, now + options.visibilityTimeoutMs, lease).map((m) => this.#delivery(queue, state, m, lease));
        },
        nextDueAt: () => state.nextDueAt(),
      },
      options.concurrency,
      handler,
      this.logger.child({ queue }),
      () => set.delete(consumer),
      options.gate,
    );
    set.add(consumer);
    return consumer;
  }

  async stats(queue: string): Promise<QueueStats> {
    return this.#state(queue).stats(Date.now(), this.deadBounds);
  }

  async deadLetters(queue: string, options: { limit: number }): Promise<readonly DeadLetter[]> {
    return this.#state(queue).deadLetters(Date.now(), this.deadBounds).slice(-options.limit).reverse();
  }

  async browseDeadLetters(queue: string, options: { limit: number; before?: string }): Promise<DeadLetterPage> {
    const before = options.before === undefined ? Infinity : parseDeadLetterId(options.before);
    if (before === undefined) throw new HqmError('HQM_ERR_VALIDATION', `"${options.before}" is not a dead-letter id of the memory queue`);
    return this.#state(queue).deadPage(Date.now(), this.deadBounds, options.limit, before);
  }

  async getDeadLetter(queue: string, id: string): Promise<DeadLetter | undefined> {
    return this.#state(queue).findDead(id, Date.now(), this.deadBounds);
  }

  async removeDeadLetter(queue: string, id: string): Promise<boolean> {
    return this.#state(queue).removeDead(id);
  }

  async purgeDeadLetters(queue: string, before: number): Promise<number> {
    return this.#state(queue).purgeDead(before);
  }

  async replayDeadLetter(queue: string, id: string, message: OutboundMessage): Promise<PublishReceipt | undefined> {
    // Everything that could refuse the publish is checked before the dead letter goes; the rest
    // runs in this one turn of the event loop, so the two steps are one.
    this.#assertOpen();
    assertSize(message.body, this.capabilities.maxMessageBytes);
    if (!this.#state(queue).removeDead(id)) return undefined;
    return this.publish(queue, message);
  }

  /** One process only: a secret of this queue's own is every process's. */
  async deploymentSecret(): Promise<string> {
    return this.#secret;
  }

  async health(): Promise<HealthReport> {
    return this.#closed ? { ok: false, detail: 'closed' } : { ok: true };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const all = [...this.#consumers.values()].flatMap((set) => [...set]);
    await Promise.all(all.map((c) => c.stop()));
  }

  #delivery(queue: string, state: QueueState, message: StoredMessage, lease: string): Delivery {
    const settle = (apply: (held: StoredMessage) => void): Promise<void> => {
      const held = state.held(message.id, lease);
      if (held !== undefined) apply(held);
      return Promise.resolve();
    };
    return {
      messageId: String(message.id),
      body: message.body,
      deliveryCount: message.attempts,
      priority: message.priority,
      partitionKey: message.partitionKey,
      enqueuedAt: message.enqueuedAt,
      // Settling a key's head lets its next message go: wake the consumers now, not at their safety timer.
      ack: () =>
        settle((held) => {
          state.remove(held);
          if (held.partitionKey !== null) this.#notify(queue, Date.now());
        }),
      retry: (delayMs) =>
        settle((held) => {
          state.reschedule(held, Date.now() + Math.max(0, delayMs), 'waiting');
          this.#notify(queue, held.visibleAt);
        }),
      release: (delayMs = 0) =>
        settle((held) => {
          held.attempts -= 1;
          state.reschedule(held, Date.now() + Math.max(0, delayMs), 'waiting');
          this.#notify(queue, held.visibleAt);
        }),
      extend: (ms) => settle((held) => state.reschedule(held, Date.now() + ms, 'leased')),
      deadLetter: (reason) =>
        settle((held) => {
          state.remove(held);
          state.bury({ messageId: String(held.id), body: held.body, attempts: held.attempts, reason, deadLetteredAt: Date.now() }, this.deadBounds);
          if (held.partitionKey !== null) this.#notify(queue, Date.now());
        }),
    };
  }

  #notify(queue: string, visibleAt: number): void {
    for (const consumer of this.#consumers.get(queue) ?? []) {
      if (visibleAt <= Date.now()) consumer.wake();
      else consumer.dueAt(visibleAt);
    }
  }

  #state(queue: string): QueueState {
    let state = this.#queues.get(queue);
    if (state === undefined) {
      state = new QueueState();
      this.#queues.set(queue, state);
    }
    return state;
  }

  #assertOpen(): void {
    if (this.#closed) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the memory queue is closed', { retryable: false });
  }
}

/** Memory dead-letter ids are positive integers. */
function parseDeadLetterId(id: string): number | undefined {
  return /^[1-9][0-9]{0,15}$/.test(id) ? Number(id) : undefined;
}

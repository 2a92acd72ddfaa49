// @ts-check
/**
 * An in-memory queue backend for OpenHQM, written against the public port only
 * (`openhqm/ports`). One process, nothing survives a restart: a starting point to copy when
 * writing a backend of your own, and the example `queue.type: custom` loads.
 *
 * Messages of a queue sit in one array in publish order. A message is
 *   - ready:     no lease, and its `visibleAt` has come;
 *   - delayed:   no lease, `visibleAt` still ahead (a delayed publish, retry or release);
 *   - in flight: leased until `lease.until`; once that passes it is ready again.
 * Every delivery carries the token of its lease, and a settle whose token is no longer the
 * message's does nothing: a worker whose lease lapsed cannot settle the newer delivery.
 */
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { clearInterval, setInterval } from 'node:timers';
import { HqmError } from 'openhqm/ports';

/** @typedef {import('openhqm/ports').QueueBackend} QueueBackend */
/** @typedef {import('openhqm/ports').QueueCapabilities} QueueCapabilities */
/** @typedef {import('openhqm/ports').OutboundMessage} OutboundMessage */
/** @typedef {import('openhqm/ports').ConsumeOptions} ConsumeOptions */
/** @typedef {import('openhqm/ports').Delivery} Delivery */
/** @typedef {import('openhqm/ports').DeliveryHandler} DeliveryHandler */
/** @typedef {import('openhqm/ports').DeadLetter} DeadLetter */
/** @typedef {import('openhqm/ports').Logger} Logger */
/**
 * @typedef {object} Message
 * @property {number} id
 * @property {string} body
 * @property {number} priority
 * @property {string | null} partitionKey
 * @property {number} enqueuedAt
 * @property {number} visibleAt
 * @property {number} attempts
 * @property {{ token: number, until: number } | null} lease
 */

/** How often a consumer looks again by itself: for delays coming due and leases lapsing. */
const TICK_MS = 20;

/** @type {QueueCapabilities} */
const CAPABILITIES = {
  delays: { maxMs: 365 * 24 * 3600 * 1000, granularityMs: 1 },
  lease: { minMs: 1, maxMs: 12 * 3600 * 1000, granularityMs: 1 },
  redelivery: 'lease',
  deliveryCounting: 'deliveries',
  staleSettles: 'harmless',
  priorities: 'none',
  ordering: 'none',
  stats: 'exact',
  deadLetterBrowsing: true,
  delay: true,
  priority: false,
  fifo: true,
  maxMessageBytes: 1024 * 1024,
  durable: false,
  shared: false,
  partitionOrdering: false,
};

/** The factory OpenHQM imports: `queue.custom_module` names this file, its default export is this. */
export default {
  type: 'example-memory',
  /**
   * @param {Readonly<Record<string, unknown>>} options the queue section's keys with queue.custom_config over them
   * @param {import('openhqm/ports').AdapterContext} context
   * @returns {Promise<QueueBackend>}
   */
  async create(options, context) {
    const max = Number(options.dead_letter_max ?? 10_000);
    const retentionMs = Number(options.dead_letter_retention_seconds ?? 604_800) * 1000;
    if (!(max >= 1) || !(retentionMs > 0)) {
      throw new HqmError('HQM_ERR_CONFIG', 'queue.dead_letter_max and queue.dead_letter_retention_seconds must be positive');
    }
    return new ExampleQueue({ max, retentionMs }, context.logger);
  },
};

/** @implements {QueueBackend} */
export class ExampleQueue {
  type = 'example-memory';
  capabilities = CAPABILITIES;
  /** @type {Map<string, { messages: Message[], dead: DeadLetter[], consumers: Set<Consumer> }>} */
  #queues = new Map();
  #ids = 0;
  #tokens = 0;
  #closed = false;
  #secret = randomBytes(32).toString('hex');

  /**
   * @param {{ max: number, retentionMs: number }} deadLetterBounds
   * @param {Logger} logger
   */
  constructor(deadLetterBounds, logger) {
    this.bounds = deadLetterBounds;
    this.logger = logger;
  }

  /** @param {string} queue @param {OutboundMessage} message */
  async publish(queue, message) {
    this.#assertWritable(message.body);
    const now = Date.now();
    /** @type {Message} */
    const stored = {
      id: (this.#ids += 1),
      body: message.body,
      priority: Math.min(9, Math.max(0, Math.trunc(message.priority ?? 0))),
      partitionKey: message.partitionKey ?? null,
      enqueuedAt: now,
      visibleAt: now + Math.max(0, message.delayMs ?? 0),
      attempts: 0,
      lease: null,
    };
    const state = this.#state(queue);
    state.messages.push(stored);
    wake(state.consumers);
    return { messageId: String(stored.id) };
  }

  /** @param {string} queue @param {ConsumeOptions} options @param {DeliveryHandler} handler */
  consume(queue, options, handler) {
    if (this.#closed) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the example queue is closed');
    const state = this.#state(queue);
    const consumer = new Consumer(() => this.#claim(queue, options.visibilityTimeoutMs), options, handler, this.logger, () => state.consumers.delete(consumer));
    state.consumers.add(consumer);
    consumer.pump();
    return consumer;
  }

  /** @param {string} queue */
  async stats(queue) {
    const now = Date.now();
    const state = this.#state(queue);
    let depth = 0;
    let delayed = 0;
    let inFlight = 0;
    /** @type {number | null} */
    let oldestReadyAt = null;
    for (const m of state.messages) {
      if (m.lease !== null && m.lease.until > now) inFlight += 1;
      else if (m.lease === null && m.visibleAt > now) {
        depth += 1;
        delayed += 1;
      } else {
        depth += 1;
        const readyAt = m.lease === null ? m.visibleAt : m.lease.until;
        oldestReadyAt = oldestReadyAt === null ? readyAt : Math.min(oldestReadyAt, readyAt);
      }
    }
    return { depth, delayed, inFlight, deadLettered: this.#dead(queue).length, oldestReadyAt };
  }

  /** @param {string} queue @param {{ limit: number }} options */
  async deadLetters(queue, options) {
    return this.#dead(queue).slice(-options.limit).reverse();
  }

  /** @param {string} queue @param {{ limit: number, before?: string }} options */
  async browseDeadLetters(queue, options) {
    let before = Infinity;
    if (options.before !== undefined) {
      if (!/^[1-9][0-9]{0,15}$/.test(options.before)) throw new HqmError('HQM_ERR_VALIDATION', `"${options.before}" is not a dead-letter id`);
      before = Number(options.before);
    }
    const older = this.#dead(queue).filter((d) => Number(d.id) < before).reverse();
    const letters = older.slice(0, options.limit);
    const last = letters.at(-1);
    return { letters, next: older.length > letters.length && last !== undefined ? last.id : null };
  }

  /** @param {string} queue @param {string} id */
  async getDeadLetter(queue, id) {
    return this.#dead(queue).find((d) => d.id === id);
  }

  /** @param {string} queue @param {string} id */
  async removeDeadLetter(queue, id) {
    const dead = this.#state(queue).dead;
    const index = dead.findIndex((d) => d.id === id);
    if (index < 0) return false;
    dead.splice(index, 1);
    return true;
  }

  /** @param {string} queue @param {number} before */
  async purgeDeadLetters(queue, before) {
    const state = this.#state(queue);
    const kept = state.dead.filter((d) => d.deadLetteredAt >= before);
    const purged = state.dead.length - kept.length;
    state.dead = kept;
    return purged;
  }

  /** @param {string} queue @param {string} id @param {OutboundMessage} message */
  async replayDeadLetter(queue, id, message) {
    // Whatever could refuse the publish is checked before the dead letter goes; the rest runs
    // without an await in between, so no second replay can come between the two steps.
    this.#assertWritable(message.body);
    if (!(await this.removeDeadLetter(queue, id))) return undefined;
    return this.publish(queue, message);
  }

  async health() {
    return this.#closed ? { ok: false, detail: 'closed' } : { ok: true };
  }

  /** One process holds all of it, so a secret of its own is every consumer's. */
  async deploymentSecret() {
    return this.#secret;
  }

  async close() {
    if (this.#closed) return;
    this.#closed = true;
    const consumers = [...this.#queues.values()].flatMap((s) => [...s.consumers]);
    await Promise.all(consumers.map((c) => c.stop()));
  }

  /** Leases the first message that is ready, if any, and makes its delivery. */
  #claim(/** @type {string} */ queue, /** @type {number} */ visibilityTimeoutMs) {
    const now = Date.now();
    const state = this.#state(queue);
    const message = state.messages.find((m) => (m.lease === null ? m.visibleAt <= now : m.lease.until <= now));
    if (message === undefined) return undefined;
    const token = (this.#tokens += 1);
    message.attempts += 1;
    message.lease = { token, until: now + visibilityTimeoutMs };
    return this.#delivery(queue, message, token);
  }

  /** @returns {Delivery} */
  #delivery(/** @type {string} */ queue, /** @type {Message} */ message, /** @type {number} */ token) {
    const state = this.#state(queue);
    /** Runs `change` only while this delivery's lease is the message's and the message is still queued. */
    const settle = (/** @type {() => void} */ change) => {
      if (message.lease?.token === token && state.messages.includes(message)) {
        change();
        wake(state.consumers);
      }
      return Promise.resolve();
    };
    const remove = () => state.messages.splice(state.messages.indexOf(message), 1);
    const giveBack = (/** @type {number} */ delayMs) => {
      message.lease = null;
      message.visibleAt = Date.now() + Math.max(0, delayMs);
    };
    return {
      messageId: String(message.id),
      body: message.body,
      deliveryCount: message.attempts,
      priority: message.priority,
      partitionKey: message.partitionKey,
      enqueuedAt: message.enqueuedAt,
      ack: () => settle(remove),
      retry: (delayMs) => settle(() => giveBack(delayMs)),
      release: (delayMs = 0) =>
        settle(() => {
          message.attempts -= 1;
          giveBack(delayMs);
        }),
      extend: (ms) =>
        settle(() => {
          message.lease = { token, until: Date.now() + ms };
        }),
      deadLetter: (reason) =>
        settle(() => {
          remove();
          const now = Date.now();
          state.dead.push({ id: String((this.#ids += 1)), messageId: String(message.id), body: message.body, attempts: message.attempts, reason, deadLetteredAt: now });
        }),
    };
  }

  /** The live dead letters of `queue`, oldest first, after dropping those past the bounds. */
  #dead(/** @type {string} */ queue) {
    const state = this.#state(queue);
    const cutoff = Date.now() - this.bounds.retentionMs;
    state.dead = state.dead.filter((d) => d.deadLetteredAt > cutoff).slice(-this.bounds.max);
    return state.dead;
  }

  #state(/** @type {string} */ queue) {
    let state = this.#queues.get(queue);
    if (state === undefined) {
      state = { messages: [], dead: [], consumers: new Set() };
      this.#queues.set(queue, state);
    }
    return state;
  }

  #assertWritable(/** @type {string} */ body) {
    if (this.#closed) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the example queue is closed');
    const bytes = Buffer.byteLength(body);
    if (bytes > CAPABILITIES.maxMessageBytes) {
      throw new HqmError('HQM_ERR_BODY_TOO_LARGE', `message of ${bytes} bytes is over the example queue's ${CAPABILITIES.maxMessageBytes}`);
    }
  }
}

/**
 * One subscription: hands out deliveries while it holds fewer than its limit (the smaller of
 * `concurrency` and the gate's), and looks again whenever a message is published or settled,
 * the gate is raised, a handler finishes, or the tick passes.
 */
class Consumer {
  #held = 0;
  #stopped = false;
  /** @type {ReturnType<typeof setInterval>} */
  #tick;
  /** @type {() => void} */
  #unregister;

  /**
   * @param {() => Delivery | undefined} claim
   * @param {ConsumeOptions} options
   * @param {DeliveryHandler} handler
   * @param {Logger} logger
   * @param {() => void} onStop
   */
  constructor(claim, options, handler, logger, onStop) {
    this.claim = claim;
    this.options = options;
    this.handler = handler;
    this.logger = logger;
    this.onStop = onStop;
    this.#tick = setInterval(() => this.pump(), TICK_MS);
    this.#tick.unref();
    this.#unregister = options.gate?.onRaise(() => this.pump()) ?? (() => undefined);
  }

  pump() {
    const limit = Math.min(this.options.concurrency, this.options.gate?.limit() ?? Infinity);
    while (!this.#stopped && this.#held < limit) {
      const delivery = this.claim();
      if (delivery === undefined) return;
      this.#held += 1;
      // The handler settles the delivery (or abandons it to its lease); either way its slot is free when it returns.
      void Promise.resolve()
        .then(() => this.handler(delivery))
        .catch((/** @type {unknown} */ error) => this.logger.error({ err: error }, 'delivery handler failed'))
        .finally(() => {
          this.#held -= 1;
          this.pump();
        });
    }
  }

  async stop() {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#tick);
    this.#unregister();
    this.onStop();
  }
}

/** @param {Iterable<Consumer>} consumers */
function wake(consumers) {
  for (const consumer of consumers) consumer.pump();
}

/**
 * The queue suite against a backend that delays and leases in whole seconds only, as SQS
 * (DelaySeconds, VisibilityTimeout) or Pub/Sub (ack deadlines of 10–600 s) do: the memory queue
 * behind a wrapper that declares 1 s steps and a 1 s minimum lease, and refuses anything else.
 * The suite must ask such a backend only for what it declares (D132) and wait correspondingly
 * longer, so that it passes here unchanged (D175).
 */
import { HqmError } from '../../src/core/errors.js';
import { describeQueueBackend } from '../../src/conformance/index.js';
import { factory } from '../../src/adapters/queue/memory/index.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { ConsumeOptions, Delivery, DeliveryHandler, OutboundMessage, QueueBackend, QueueCapabilities } from '../../src/ports/queue-backend.js';

const STEP_MS = 1000;
const LONGEST_LEASE_MS = 12 * 3600 * 1000;

/** Refuses a delay that is not a whole number of seconds, as an API that takes seconds would have to. */
function wholeDelay(ms: number | undefined, what: string): void {
  if (ms === undefined || ms === 0) return;
  if (ms < 0 || ms % STEP_MS !== 0) throw new HqmError('HQM_ERR_VALIDATION', `${what} of ${ms} ms: this backend delays by whole seconds only`);
}

function wholeLease(ms: number, what: string): void {
  if (ms < STEP_MS || ms > LONGEST_LEASE_MS || ms % STEP_MS !== 0) throw new HqmError('HQM_ERR_VALIDATION', `${what} of ${ms} ms: this backend leases whole seconds, 1 s to 12 h`);
}

function coarse(delivery: Delivery): Delivery {
  return {
    messageId: delivery.messageId,
    body: delivery.body,
    deliveryCount: delivery.deliveryCount,
    priority: delivery.priority,
    partitionKey: delivery.partitionKey,
    enqueuedAt: delivery.enqueuedAt,
    ack: () => delivery.ack(),
    retry: async (delayMs) => {
      wholeDelay(delayMs, 'a retry');
      return delivery.retry(delayMs);
    },
    release: async (delayMs) => {
      wholeDelay(delayMs, 'a release');
      return delivery.release(delayMs);
    },
    deadLetter: (reason) => delivery.deadLetter(reason),
    extend: async (ms) => {
      wholeLease(ms, 'an extension');
      return delivery.extend(ms);
    },
  };
}

/** A queue with 1 s steps: every call checked, then handed to the memory queue. */
class WholeSecondsQueue implements QueueBackend {
  readonly type = 'memory-whole-seconds';
  readonly capabilities: QueueCapabilities;

  constructor(private readonly inner: QueueBackend) {
    this.capabilities = {
      ...inner.capabilities,
      delays: { maxMs: 900_000, granularityMs: STEP_MS },
      lease: { minMs: STEP_MS, maxMs: LONGEST_LEASE_MS, granularityMs: STEP_MS },
    };
  }

  async publish(queue: string, message: OutboundMessage) {
    wholeDelay(message.delayMs, 'a delay');
    return this.inner.publish(queue, message);
  }

  consume(queue: string, options: ConsumeOptions, handler: DeliveryHandler) {
    wholeLease(options.visibilityTimeoutMs, 'a visibility timeout');
    return this.inner.consume(queue, options, (delivery) => handler(coarse(delivery)));
  }

  async replayDeadLetter(queue: string, id: string, message: OutboundMessage) {
    wholeDelay(message.delayMs, 'a delay');
    return this.inner.replayDeadLetter(queue, id, message);
  }

  stats = (queue: string) => this.inner.stats(queue);
  deadLetters = (queue: string, options: { limit: number }) => this.inner.deadLetters(queue, options);
  browseDeadLetters = (queue: string, options: { limit: number; before?: string }) => this.inner.browseDeadLetters(queue, options);
  getDeadLetter = (queue: string, id: string) => this.inner.getDeadLetter(queue, id);
  removeDeadLetter = (queue: string, id: string) => this.inner.removeDeadLetter(queue, id);
  purgeDeadLetters = (queue: string, before: number) => this.inner.purgeDeadLetters(queue, before);
  health = () => this.inner.health();
  deploymentSecret = () => this.inner.deploymentSecret();
  close = () => this.inner.close();
}

describeQueueBackend('memory in whole seconds', async () => ({
  open: async (options) => new WholeSecondsQueue(await factory.create({ ...options }, { logger: silentLogger })),
}));

/**
 * `queue.type: sqs` — Amazon SQS through the AWS SDK v3 (D240–D249). Each OpenHQM queue is an SQS
 * queue (names.ts) with a dead-letter queue its redrive policy points to; a `.fifo` queue url makes
 * them all FIFO, with partition keys as message groups. The lease is SQS's visibility timeout,
 * renewed by extend(); retry and release change the visibility of the message in hand, so it keeps
 * its id, its place in a FIFO group and its receive count (which counts every delivery).
 *
 * What SQS does not do is said in the capabilities: no priorities, delays of 15 min at most (the
 * ports chain longer ones) and none per message on FIFO queues, approximate stats, and dead
 * letters that can be listed and read but not managed one by one (dead-letters.ts).
 *
 * @module
 */
import type { Message, ReceiveMessageCommandOutput, SendMessageCommandOutput, ListQueueTagsCommandOutput } from '@aws-sdk/client-sqs';
import { randomBytes, randomUUID } from 'node:crypto';
import { HqmError } from '../../../core/errors.js';
import type { AdapterContext, QueueBackendFactory } from '../../../ports/adapter.js';
import type { HealthReport } from '../../../ports/health.js';
import type { Logger } from '../../../ports/logger.js';
import type {
  ConsumeOptions,
  DeadLetter,
  DeadLetterPage,
  DeliveryHandler,
  OutboundMessage,
  PublishReceipt,
  QueueBackend,
  QueueCapabilities,
  QueueStats,
  Subscription,
} from '../../../ports/queue-backend.js';
import { deadLetterBounds } from '../../shared/dead-letters.js';
import { assertSize, clampPriority } from '../../shared/messages.js';
import { parseOptions } from '../../shared/options.js';
import { SqsClient, type QueueUrls } from './client.js';
import { sqsQueueOptionsSchema, type SqsQueueOptions } from './config.js';
import { SqsSubscription } from './consumer.js';
import { DeadLetterQueues, sequenceOf, type Letter } from './dead-letters.js';
import { LONGEST_VISIBILITY_S } from './delivery.js';
import { isMissingQueue } from './errors.js';
import { secretName } from './names.js';
import { identityAttributes } from './wire.js';

/** SQS's longest DelaySeconds. */
const LONGEST_DELAY_MS = 900_000;
const SECRET_TAG = 'openhqm-secret';
const HEALTH_TIMEOUT_MS = 3000;

export const factory: QueueBackendFactory = {
  type: 'sqs',
  async create(raw, context: AdapterContext) {
    const options = parseOptions(sqsQueueOptionsSchema, raw, 'sqs');
    const logger = context.logger.child({ component: 'queue', backend: 'sqs' });
    const client = await SqsClient.open(options, logger);
    try {
      await client.probe(AbortSignal.timeout(10_000));
    } catch (error) {
      client.close();
      throw error;
    }
    return new SqsQueue(client, options, logger);
  },
};

export class SqsQueue implements QueueBackend {
  readonly type = 'sqs';
  readonly capabilities: QueueCapabilities;
  readonly #subscriptions = new Set<SqsSubscription>();
  readonly #dead: DeadLetterQueues;
  readonly #waitSeconds: number;
  #secret: Promise<string> | undefined;
  #closed = false;

  constructor(
    private readonly client: SqsClient,
    options: SqsQueueOptions,
    private readonly logger: Logger,
  ) {
    this.#dead = new DeadLetterQueues(client, deadLetterBounds(options));
    this.#waitSeconds = options.sqs_wait_seconds;
    const fifo = client.fifo;
    this.capabilities = {
      // FIFO queues refuse a per-message DelaySeconds (D246).
      delay: !fifo,
      priority: false,
      fifo: false,
      maxMessageBytes: options.max_message_bytes,
      durable: true,
      shared: true,
      partitionOrdering: fifo,
      delays: fifo ? null : { maxMs: LONGEST_DELAY_MS, granularityMs: 1000 },
      lease: { minMs: 1000, maxMs: LONGEST_VISIBILITY_S * 1000, granularityMs: 1000 },
      redelivery: 'lease',
      deliveryCounting: 'every-delivery',
      staleSettles: 'harmless',
      priorities: 'none',
      ordering: fifo ? 'per-key' : 'none',
      stats: 'approximate',
      deadLetterBrowsing: false,
    };
  }

  async publish(queue: string, message: OutboundMessage): Promise<PublishReceipt> {
    this.#assertOpen();
    assertSize(message.body, this.capabilities.maxMessageBytes);
    const delayMs = Math.max(0, message.delayMs ?? 0);
    if (delayMs > 0 && this.client.fifo) {
      throw new HqmError('HQM_ERR_UNSUPPORTED', 'a FIFO SQS queue cannot delay a message (SQS refuses a per-message delay on FIFO queues)');
    }
    const id = randomUUID();
    const partitionKey = message.partitionKey ?? null;
    const attributes = identityAttributes({ id, enqueuedAt: Date.now(), priority: clampPriority(message.priority), partitionKey });
    for (let tries = 1; ; tries += 1) {
      const urls = await this.client.urls(queue);
      try {
        await this.client.call<SendMessageCommandOutput>(
          `publishing to ${queue}`,
          new this.client.sdk.SendMessageCommand({
            QueueUrl: urls.url,
            MessageBody: message.body,
            MessageAttributes: attributes,
            ...(this.client.fifo
              ? // A keyless message gets a group of its own: it waits for nobody (D246).
                { MessageGroupId: partitionKey ?? id, MessageDeduplicationId: id }
              : { DelaySeconds: Math.min(LONGEST_DELAY_MS / 1000, Math.ceil(delayMs / 1000)) }),
          }),
        );
        return { messageId: id };
      } catch (error) {
        // A queue deleted under us is created again, once.
        if (tries >= 2 || !isMissingQueue((error as { cause?: unknown }).cause)) throw error;
        this.client.forget(queue);
      }
    }
  }

  consume(queue: string, options: ConsumeOptions, handler: DeliveryHandler): Subscription {
    this.#assertOpen();
    const subscription = new SqsSubscription({ client: this.client, logger: this.logger, waitSeconds: this.#waitSeconds, bury: (_queue, urls, message, reason, attempts) => this.#bury(urls, message, reason, attempts) }, queue, options, handler);
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async stats(queue: string): Promise<QueueStats> {
    this.#assertOpen();
    const urls = await this.client.urls(queue);
    const attributes = await this.client.attributes(urls.url, ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed', 'ApproximateNumberOfMessagesNotVisible']);
    const ready = Number(attributes.ApproximateNumberOfMessages ?? 0);
    const delayed = Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0);
    // Not visible: held by a consumer, and also retried or released with a delay (D242).
    const inFlight = Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
    return { depth: ready + delayed, delayed, inFlight, deadLettered: await this.#dead.count(urls.dead) };
  }

  async deadLetters(queue: string, options: { limit: number }): Promise<readonly DeadLetter[]> {
    return (await this.browseDeadLetters(queue, { limit: options.limit })).letters;
  }

  async browseDeadLetters(queue: string, options: { limit: number; before?: string }): Promise<DeadLetterPage> {
    this.#assertOpen();
    const before = options.before === undefined ? Number.POSITIVE_INFINITY : sequenceOf(options.before);
    if (before === undefined) throw new HqmError('HQM_ERR_VALIDATION', `"${options.before}" is not a dead-letter id of the SQS queue`);
    const older = (await this.#dead.list((await this.client.urls(queue)).dead)).filter((letter) => letter.sequence < before);
    const page = older.slice(0, options.limit);
    return { letters: page.map(publicLetter), next: older.length > options.limit ? (page.at(-1)?.id ?? null) : null };
  }

  async getDeadLetter(queue: string, id: string): Promise<DeadLetter | undefined> {
    this.#assertOpen();
    if (sequenceOf(id) === undefined) return undefined;
    const letter = (await this.#dead.list((await this.client.urls(queue)).dead)).find((l) => l.id === id);
    return letter === undefined ? undefined : publicLetter(letter);
  }

  removeDeadLetter(): Promise<boolean> {
    return Promise.reject(notManaged());
  }

  purgeDeadLetters(): Promise<number> {
    return Promise.reject(notManaged());
  }

  replayDeadLetter(): Promise<PublishReceipt | undefined> {
    return Promise.reject(notManaged());
  }

  async health(): Promise<HealthReport> {
    if (this.#closed) return { ok: false, detail: 'closed' };
    // Reachable but not receiving (polls that keep failing): a worker that takes nothing is not ready.
    for (const subscription of this.#subscriptions) {
      if (!subscription.stopped && !subscription.consuming) return { ok: false, detail: `not receiving from ${subscription.queue}${subscription.lastError === undefined ? '' : `: ${subscription.lastError}`}` };
    }
    try {
      await this.client.probe(AbortSignal.timeout(HEALTH_TIMEOUT_MS));
      return { ok: true };
    } catch (error) {
      return { ok: false, detail: error instanceof Error ? error.message : String(error) };
    }
  }

  /**
   * A tag on the queue `<stem>-secret.fifo` (D247). The first time, every process sends a
   * candidate to that FIFO queue and reads its head, so all agree on whichever came first, and
   * writes it to the tag, which outlives SQS's 14-day retention of the message.
   */
  deploymentSecret(): Promise<string> {
    this.#assertOpen();
    this.#secret ??= this.#readSecret();
    this.#secret.catch(() => (this.#secret = undefined));
    return this.#secret;
  }

  async #readSecret(): Promise<string> {
    const { sdk } = this.client;
    const url = await this.client.ensureQueue(secretName(this.client.base), { FifoQueue: 'true', MessageRetentionPeriod: '1209600' });
    const tagged = async (): Promise<string | undefined> => {
      const tags = await this.client.call<ListQueueTagsCommandOutput>('reading the deployment secret', new sdk.ListQueueTagsCommand({ QueueUrl: url }));
      const value = tags.Tags?.[SECRET_TAG];
      return value !== undefined && /^[0-9a-f]{64,}$/.test(value) ? value : undefined;
    };
    const known = await tagged();
    if (known !== undefined) return known;
    const candidate = randomBytes(32).toString('hex');
    await this.client.call('writing the deployment secret', new sdk.SendMessageCommand({ QueueUrl: url, MessageBody: candidate, MessageGroupId: 'secret', MessageDeduplicationId: candidate.slice(0, 64) }));
    for (let tries = 0; tries < 5; tries += 1) {
      const answer = await this.client.call<ReceiveMessageCommandOutput>(
        'reading the deployment secret',
        new sdk.ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 1, VisibilityTimeout: 0, WaitTimeSeconds: 2 }),
      );
      const head = answer.Messages?.[0]?.Body;
      if (head !== undefined && /^[0-9a-f]{64,}$/.test(head)) {
        await this.client.call('keeping the deployment secret', new sdk.TagQueueCommand({ QueueUrl: url, Tags: { [SECRET_TAG]: head } }));
        return head;
      }
    }
    throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'reading the deployment secret: the SQS queue gave no message back');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
    this.#subscriptions.clear();
    this.client.close();
  }

  #bury(urls: QueueUrls, message: Message, reason: string, attempts: number): Promise<void> {
    return this.#dead.bury(urls.dead, message, reason, attempts);
  }

  #assertOpen(): void {
    if (this.#closed) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', 'the SQS queue is closed', { retryable: false });
  }
}

function publicLetter(letter: Letter): DeadLetter {
  return { id: letter.id, messageId: letter.messageId, body: letter.body, attempts: letter.attempts, reason: letter.reason, deadLetteredAt: letter.deadLetteredAt };
}

function notManaged(): HqmError {
  return new HqmError('HQM_ERR_UNSUPPORTED', 'SQS dead letters sit in a dead-letter queue that can only be received from: they can be listed and read, but not removed, purged or replayed one by one (capability deadLetterBrowsing is false); use the SQS console\'s redrive or purge');
}

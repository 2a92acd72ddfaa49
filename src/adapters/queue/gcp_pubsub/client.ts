/**
 * The Pub/Sub connection of one backend: the generated v1 publisher and subscriber clients
 * (unary calls only, D250), the topics and subscriptions of each queue created on first use, and
 * every call bounded by `request_timeout_ms` and translated into an HqmError.
 *
 * @module
 */
import type { v1 } from '@google-cloud/pubsub';
import type { Logger } from '../../../ports/logger.js';
import type { PubSubQueueOptions } from './config.js';
import { GRPC, grpcCode, guarded, translatePubSubError, unavailable } from './errors.js';
import { queueNames, type QueueNames } from './names.js';

type Publisher = InstanceType<typeof v1.PublisherClient>;
type Subscriber = InstanceType<typeof v1.SubscriberClient>;

/** What the adapter reads of a pulled message (the generated type, narrowed). */
export interface Pulled {
  readonly ackId: string;
  readonly messageId: string;
  readonly data: Buffer;
  readonly attributes: Readonly<Record<string, string>>;
  readonly publishedAt: number;
  readonly orderingKey: string;
}

export interface Outgoing {
  readonly data: Buffer;
  readonly attributes: Record<string, string>;
  /** Pub/Sub's ordering key (with gcp_pubsub.ordering), else empty. */
  readonly orderingKey?: string;
}

/** Emulators have no project of their own: any valid id does. */
const EMULATOR_PROJECT = 'openhqm-local';
/** Pub/Sub keeps a subscription's messages at most this long. */
const LONGEST_RETENTION_S = 7 * 24 * 3600;

export class PubSubClient {
  readonly #topology = new Map<string, Promise<QueueNames>>();
  readonly #dead = new Map<string, Promise<void>>();
  #closed = false;

  private constructor(
    private readonly publisher: Publisher,
    private readonly subscriber: Subscriber,
    readonly project: string,
    readonly options: PubSubQueueOptions,
    private readonly logger: Logger,
  ) {}

  static async open(options: PubSubQueueOptions, logger: Logger): Promise<PubSubClient> {
    const { PubSub, v1: api } = await import('@google-cloud/pubsub');
    const emulated = options.endpoint !== '';
    const pubsub = new PubSub({
      ...(options.gcp_project_id !== '' ? { projectId: options.gcp_project_id } : emulated ? { projectId: EMULATOR_PROJECT } : {}),
      ...(options.gcp_credentials_path !== '' ? { keyFilename: options.gcp_credentials_path } : {}),
      ...(emulated ? { apiEndpoint: options.endpoint } : {}),
    });
    // The settings the high-level client worked out (endpoint, TLS or not, credentials, project).
    const found = await guarded('reading the Pub/Sub client settings', pubsub.getClientConfig());
    const config = {
      ...found,
      port: found.port === undefined ? undefined : Number(found.port),
      // An emulator needs no credentials; without a universe named, gax would ask Google's auth
      // library for one, which probes the GCE metadata server on every client (seconds, and a warning).
      ...(pubsub.isEmulator ? { universeDomain: 'googleapis.com' } : {}),
      // gRPC backs its reconnects off up to two minutes by default: workers would resume that long
      // after Pub/Sub is back. A retry every 2 s at most costs nothing while it is away.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
    };
    const client = new PubSubClient(new api.PublisherClient(config), new api.SubscriberClient(config), pubsub.projectId, options, logger);
    try {
      await client.probe(options.request_timeout_ms);
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  get closed(): boolean {
    return this.#closed;
  }

  names(queue: string): QueueNames {
    return queueNames(this.project, this.options.prefix, queue);
  }

  /** The queue's topic and work subscription, created once per process (a race with another process is fine: ALREADY_EXISTS). */
  declare(queue: string): Promise<QueueNames> {
    let declared = this.#topology.get(queue);
    if (declared === undefined) {
      declared = this.#declare(queue);
      this.#topology.set(queue, declared);
      declared.catch(() => this.#topology.delete(queue));
    }
    return declared;
  }

  /** Forgets what was declared for `queue` (a topic deleted under us is created again on the next use). */
  forget(queue: string): void {
    this.#topology.delete(queue);
    this.#dead.delete(queue);
  }

  async #declare(queue: string): Promise<QueueNames> {
    const names = this.names(queue);
    await this.#create('creating the topic', this.publisher.createTopic({ name: names.topic }, this.#call()));
    await this.#create(
      'creating the subscription',
      this.subscriber.createSubscription(
        {
          name: names.work,
          topic: names.topic,
          // Each pull takes the consumer's own lease at once (consumer.ts); this covers the moment between.
          ackDeadlineSeconds: 60,
          // Fixed when the subscription is created: turning ordering on later needs new names (another prefix).
          enableMessageOrdering: this.options.ordering,
          messageRetentionDuration: { seconds: LONGEST_RETENTION_S },
          // No ttl: an idle queue's subscription must never expire with its messages.
          expirationPolicy: {},
        },
        this.#call(),
      ),
    );
    await this.attached(names);
    return names;
  }

  /**
   * Fails unless the work subscription is attached to the queue's topic. A topic deleted and
   * created again (by hand, by a tool) leaves the old subscription detached: publishes would then
   * reach no subscription and be dropped, and pulls would find nothing, a worker alive but idle.
   * Pub/Sub cannot re-attach a subscription, and deleting it would drop what it still holds, so
   * this is left to an operator; once it is deleted, the next use creates it afresh.
   */
  async attached(names: QueueNames): Promise<void> {
    const [subscription] = await guarded('reading the subscription', this.subscriber.getSubscription({ subscription: names.work }, this.#call()));
    if (subscription.topic !== names.topic || subscription.detached === true) {
      throw unavailable(`the subscription ${names.work} is detached from ${names.topic} (its topic was deleted): delete the subscription and OpenHQM creates it again`);
    }
  }

  /** The dead-letter topic and the subscription that keeps its messages for reading. */
  declareDead(queue: string): Promise<QueueNames> {
    let declared = this.#dead.get(queue);
    if (declared === undefined) {
      const names = this.names(queue);
      const retention = Math.min(LONGEST_RETENTION_S, Math.max(600, Math.ceil(this.options.dead_letter_retention_seconds)));
      declared = (async () => {
        await this.#create('creating the dead-letter topic', this.publisher.createTopic({ name: names.deadTopic }, this.#call()));
        await this.#create(
          'creating the dead-letter subscription',
          this.subscriber.createSubscription(
            { name: names.deadLog, topic: names.deadTopic, ackDeadlineSeconds: 60, messageRetentionDuration: { seconds: retention }, expirationPolicy: {} },
            this.#call(),
          ),
        );
      })();
      this.#dead.set(queue, declared);
      declared.catch(() => this.#dead.delete(queue));
    }
    return declared.then(() => this.names(queue));
  }

  async #create(what: string, call: Promise<unknown>): Promise<void> {
    try {
      await call;
    } catch (error) {
      if (grpcCode(error) !== GRPC.ALREADY_EXISTS) throw translatePubSubError(error, what);
    }
  }

  /** Publishes and resolves with the ids once Pub/Sub stored every message. */
  async publish(topic: string, messages: readonly Outgoing[], what = 'publishing a message'): Promise<string[]> {
    this.#assertOpen();
    const [response] = await this.#bounded(what, this.publisher.publish({ topic, messages: messages.map((m) => ({ data: m.data, attributes: m.attributes, ...(m.orderingKey ? { orderingKey: m.orderingKey } : {}) })) }, this.#call()));
    return (response.messageIds ?? []).map(String);
  }

  /**
   * One unary pull of at most `max` messages. `waitMs` bounds how long the server may hold the
   * call open while the subscription is empty; a call that runs out of it answers nothing.
   */
  pull(subscription: string, max: number, options: { waitMs?: number; immediate?: boolean } = {}): { done: Promise<Pulled[]>; cancel(): void } {
    this.#assertOpen();
    const call = this.subscriber.pull(
      { subscription, maxMessages: max, ...(options.immediate === true ? { returnImmediately: true } : {}) },
      { timeout: options.waitMs ?? this.options.request_timeout_ms, retry: null },
    );
    const done = call.then(
      ([response]) => (response.receivedMessages ?? []).flatMap((m) => (m.ackId && m.message ? [pulledOf(m.ackId, m.message)] : [])),
      (error: unknown) => {
        if (grpcCode(error) === GRPC.DEADLINE_EXCEEDED) return [];
        throw translatePubSubError(error, 'pulling messages');
      },
    );
    return { done, cancel: () => (call as { cancel?: () => void }).cancel?.() };
  }

  async ack(subscription: string, ackIds: readonly string[]): Promise<void> {
    this.#assertOpen();
    for (const chunk of chunks(ackIds)) await guarded('acknowledging messages', this.subscriber.acknowledge({ subscription, ackIds: chunk }, this.#call()));
  }

  /** Sets the deadline of each message to `seconds` from now (0: give it back at once). */
  async modAck(subscription: string, ackIds: readonly string[], seconds: number): Promise<void> {
    this.#assertOpen();
    for (const chunk of chunks(ackIds)) {
      await guarded('changing ack deadlines', this.subscriber.modifyAckDeadline({ subscription, ackIds: chunk, ackDeadlineSeconds: seconds }, this.#call()));
    }
  }

  /** Creates `name` with `labels`, or reads the labels of whoever created it first. */
  async labelledTopic(name: string, labels: Record<string, string>): Promise<Record<string, string>> {
    this.#assertOpen();
    try {
      const [topic] = await this.publisher.createTopic({ name, labels }, this.#call());
      return { ...(topic.labels ?? {}) };
    } catch (error) {
      if (grpcCode(error) !== GRPC.ALREADY_EXISTS) throw translatePubSubError(error, 'creating the deployment-secret topic');
    }
    const [topic] = await guarded('reading the deployment-secret topic', this.publisher.getTopic({ topic: name }, this.#call()));
    return { ...(topic.labels ?? {}) };
  }

  /** One cheap call: resolves when the server answers. */
  async probe(timeoutMs: number): Promise<void> {
    this.#assertOpen();
    try {
      await this.publisher.listTopics({ project: `projects/${this.project}`, pageSize: 1 }, { timeout: timeoutMs, retry: null, autoPaginate: false });
    } catch (error) {
      throw translatePubSubError(error, `reaching Pub/Sub${this.options.endpoint === '' ? '' : ` at ${this.options.endpoint}`}`);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([this.publisher.close(), this.subscriber.close()]).catch((error: unknown) => this.logger.debug({ err: error }, 'closing the Pub/Sub clients failed'));
  }

  /**
   * The call, failing once `request_timeout_ms` (and a little) has passed: gax's own timeout
   * bounds each attempt, but a publish caught in its retries or its bundling when the connection
   * drops was seen to wait far longer, and a submit must answer 503, never hang.
   */
  async #bounded<T>(what: string, call: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(unavailable(`${what}: Pub/Sub did not answer within ${this.options.request_timeout_ms} ms`)), this.options.request_timeout_ms + 500);
    });
    try {
      return await guarded(what, Promise.race([call, late]));
    } finally {
      clearTimeout(timer);
    }
  }

  #call(): { timeout: number } {
    return { timeout: this.options.request_timeout_ms };
  }

  #assertOpen(): void {
    if (this.#closed) throw unavailable('the Pub/Sub queue is closed');
  }
}

function pulledOf(ackId: string, message: { messageId?: string | null; data?: Uint8Array | string | null; attributes?: Record<string, string> | null; publishTime?: { seconds?: unknown; nanos?: number | null } | null; orderingKey?: string | null }): Pulled {
  const data = message.data ?? Buffer.alloc(0);
  const seconds = Number(message.publishTime?.seconds ?? 0);
  return {
    ackId,
    messageId: message.messageId ?? ackId,
    data: typeof data === 'string' ? Buffer.from(data, 'base64') : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    attributes: message.attributes ?? {},
    publishedAt: seconds * 1000 + Math.floor((message.publishTime?.nanos ?? 0) / 1e6),
    orderingKey: message.orderingKey ?? '',
  };
}

/** Ack ids in requests of at most 1,000 (a request is limited to 512 KB). */
function chunks(ackIds: readonly string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ackIds.length; i += 1000) out.push(ackIds.slice(i, i + 1000));
  return out;
}

/**
 * What one queue is on the server: a work-queue stream holding the three priority bands and the
 * delayed subject, a durable pull consumer per band (shared by every process) and one for the
 * delayed subject. Created when first used, in any process; a consumer's AckWait is the
 * shortest visibility timeout asked for (a longer lease is kept alive with `+WPI`, see
 * consumer.ts), so one process asking for a long lease never slows another's redeliveries.
 *
 * @module
 */
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type ConsumerInfo } from '@nats-io/jetstream';
import type { Logger } from '../../../ports/logger.js';
import type { NatsQueueOptions } from './config.js';
import { API, apiCode, type NatsLink } from './link.js';
import { BANDS, consumerOf, DELAYED_CONSUMER, type Band, type QueueNames } from './names.js';

/** AckWait of the delayed subject's consumer: the mover holds a message only while it republishes it. */
const MOVER_ACK_WAIT_MS = 30_000;
/** AckWait of a band consumer created by a publisher before any worker asked for a lease. */
const DEFAULT_ACK_WAIT_MS = 30_000;

const ms = (nanos: number | undefined): number => Math.round((nanos ?? DEFAULT_ACK_WAIT_MS * 1_000_000) / 1_000_000);
const nanos = (millis: number): number => Math.round(millis) * 1_000_000;

export class QueueStreams {
  #ready: Promise<void> | undefined;
  /** The bands' AckWait as last read or set (ms). */
  ackWaitMs = DEFAULT_ACK_WAIT_MS;
  /** The shortest lease a subscription of this process asked for. */
  #wantedAckWaitMs: number | undefined;

  constructor(
    private readonly link: NatsLink,
    readonly names: QueueNames,
    private readonly options: NatsQueueOptions,
    private readonly logger: Logger,
  ) {}

  /** The stream and its consumers exist (created once per process, again after `invalidate`). */
  ready(): Promise<void> {
    this.#ready ??= this.#ensure().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  /** Something was missing on the server (deleted by hand, a memory stream after a restart): look again next time. */
  invalidate(): void {
    this.#ready = undefined;
  }

  /** A subscription asks for this lease: the consumers' AckWait goes down to it when longer. */
  async wantLease(leaseMs: number): Promise<void> {
    if (this.#wantedAckWaitMs !== undefined && this.#wantedAckWaitMs <= leaseMs) return this.ready();
    this.#wantedAckWaitMs = leaseMs;
    this.invalidate();
    return this.ready();
  }

  async #ensure(): Promise<void> {
    const { jsm } = this.link;
    const { names, options } = this;
    const storage = options.storage === 'memory' ? StorageType.Memory : StorageType.File;
    await this.link.call('creating the queue stream', async () => {
      try {
        await jsm.streams.add({
          name: names.stream,
          subjects: [...BANDS.map((b) => names.subject[b]), names.delayed],
          retention: RetentionPolicy.Workqueue,
          storage,
          num_replicas: options.replicas,
          discard: DiscardPolicy.Old,
        });
      } catch (error) {
        // Created earlier with other settings (replicas, storage): used as it is.
        if (apiCode(error) !== API.streamNameInUse) throw error;
        this.logger.warn({ stream: names.stream }, 'nats: the queue stream exists with other settings than this process would create; using it as it is');
      }
    });
    const infos = await Promise.all([...BANDS.map((band) => this.#consumer(consumerOf(band), names.subject[band], this.#wantedAckWaitMs ?? DEFAULT_ACK_WAIT_MS)), this.#consumer(DELAYED_CONSUMER, names.delayed, MOVER_ACK_WAIT_MS)]);
    this.ackWaitMs = Math.min(...infos.slice(0, BANDS.length).map((info) => ms(info.config.ack_wait)));
  }

  async #consumer(name: string, subject: string, ackWaitMs: number): Promise<ConsumerInfo> {
    const { jsm } = this.link;
    const stream = this.names.stream;
    return this.link.call('creating a queue consumer', async () => {
      let info: ConsumerInfo;
      try {
        info = await jsm.consumers.info(stream, name);
      } catch (error) {
        if (apiCode(error) !== API.consumerNotFound) throw error;
        return this.#addConsumer(name, subject, ackWaitMs);
      }
      if (ms(info.config.ack_wait) <= ackWaitMs) return info;
      return jsm.consumers.update(stream, name, { ack_wait: nanos(ackWaitMs) });
    });
  }

  /** Creates a band's (or the mover's) consumer; one another process created meanwhile is read instead. */
  async #addConsumer(name: string, subject: string, ackWaitMs: number): Promise<ConsumerInfo> {
    const { jsm } = this.link;
    const stream = this.names.stream;
    try {
      return await jsm.consumers.add(stream, {
        durable_name: name,
        filter_subject: subject,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(ackWaitMs),
        // The result store counts attempts and dead-letters (D130): the server never gives up on a message.
        max_deliver: -1,
        // Delayed retries wait as unacknowledged messages; the worker limits what it holds itself.
        max_ack_pending: -1,
      });
    } catch (error) {
      const existing = await jsm.consumers.info(stream, name).catch(() => undefined);
      if (existing === undefined) throw error;
      return existing;
    }
  }

  /** The band consumers' and the delayed consumer's counts, for stats. */
  async counts(): Promise<{ bands: Record<Band, ConsumerInfo>; delayed: ConsumerInfo }> {
    await this.ready();
    const { jsm } = this.link;
    const stream = this.names.stream;
    return this.link.call('reading queue stats', async () => {
      const [delayed, ...infos] = await Promise.all([jsm.consumers.info(stream, DELAYED_CONSUMER), ...BANDS.map((b) => jsm.consumers.info(stream, consumerOf(b)))]);
      const bands = Object.fromEntries(BANDS.map((band, i) => [band, infos[i] as ConsumerInfo])) as Record<Band, ConsumerInfo>;
      return { bands, delayed };
    });
  }
}

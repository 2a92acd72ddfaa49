/**
 * The adapter's one AMQP connection (rabbitmq-client reconnects it by itself) and what every
 * part of the adapter does through it: publish with confirms, declare a queue's topology once,
 * and count messages.
 *
 * A publish resolves only once the broker confirmed it (publisher confirms: the message is in
 * the quorum queue's log on a majority), and fails when the broker returned it as unroutable (a
 * queue deleted under us): the topology is declared again and the publish retried once, so a
 * 202 is never given for a message that went nowhere.
 *
 * @module
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Connection, type Channel } from 'rabbitmq-client';
import type { Logger } from '../../../ports/logger.js';
import type { RabbitQueueOptions } from './config.js';
import { replyCode, translateRabbitError, unavailable } from './errors.js';
import { dueExchange, topologyOf, type Topology } from './names.js';
import { H } from './wire.js';

/** Publish properties the adapter sets. */
export interface PublishProps {
  readonly messageId?: string;
  readonly headers: Record<string, string | number>;
}

export class RabbitClient {
  readonly conn: Connection;
  #publisher: Promise<Channel> | undefined;
  /** Routing keys the broker returned as unroutable since the last declare of their topology. */
  readonly #returned = new Set<string>();
  readonly #topologies = new Map<string, Promise<Topology>>();
  /** Queues whose delay tiers this client declared (or found). */
  readonly #ladders = new Map<string, Promise<void>>();
  /** When a probe last found no delay tiers for a queue: not probed again for a while. */
  readonly #noLadder = new Map<string, number>();
  #closed = false;
  #lastError: string | undefined;

  constructor(
    readonly options: RabbitQueueOptions,
    private readonly logger: Logger,
  ) {
    this.conn = new Connection({
      url: options.rabbitmq_url,
      connectionName: 'openhqm',
      connectionTimeout: options.connect_timeout_ms,
      acquireTimeout: options.connect_timeout_ms,
      heartbeat: options.heartbeat_seconds,
      // Back within a second or so of the broker: workers resume by themselves (the library's default waits up to 30 s).
      retryLow: 200,
      retryHigh: 3000,
      frameMax: 131_072,
      noDelay: true,
    });
    let logged = 0;
    this.conn.on('error', (error: unknown) => {
      this.#lastError = error instanceof Error ? error.message : String(error);
      // A broker that is down reports every reconnect attempt: one line every ten seconds is enough.
      if (Date.now() - logged > 10_000) {
        logged = Date.now();
        this.logger.warn({ err: error }, 'rabbitmq: connection error; reconnecting');
      }
    });
    this.conn.on('connection', () => {
      this.#lastError = undefined;
      this.logger.info({}, 'rabbitmq: connected');
    });
  }

  /** Resolves once connected, or throws HQM_ERR_BACKEND_UNAVAILABLE after connect_timeout_ms. */
  async connected(): Promise<void> {
    try {
      await this.conn.onConnect(this.options.connect_timeout_ms, true);
    } catch (error) {
      throw translateRabbitError(error, 'connecting');
    }
  }

  get ready(): boolean {
    return !this.#closed && this.conn.ready;
  }

  /** Why the connection is down, for health reports. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  assertReady(what: string): void {
    if (this.#closed) throw unavailable(`${what}: the RabbitMQ queue is closed`);
    // Fail at once while the broker is away, rather than wait connect_timeout_ms for a channel.
    if (!this.conn.ready) throw unavailable(`${what}: RabbitMQ is not connected${this.#lastError === undefined ? '' : ` (${this.#lastError})`}`);
  }

  topology(queue: string): Topology {
    return topologyOf(this.options.prefix, queue, this.options.priority_bands);
  }

  /** Declares `queue`'s queues, bindings and stream, once per client (again after a returned publish). */
  declare(queue: string): Promise<Topology> {
    let declared = this.#topologies.get(queue);
    if (declared === undefined) {
      declared = this.#declare(this.topology(queue));
      this.#topologies.set(queue, declared);
      declared.catch(() => this.#topologies.delete(queue));
    }
    return declared;
  }

  /** Forgets that `queue` was declared (its consumer was cancelled: the queue was deleted). */
  forget(queue: string): void {
    this.#topologies.delete(queue);
    this.#ladders.delete(queue);
  }

  /**
   * Declares `queue`'s delay tiers, once per client: only a queue that delays anything gets them
   * (thirteen quorum queues, each holding three of the broker's file handles: D222).
   */
  declareLadder(queue: string): Promise<void> {
    let declared = this.#ladders.get(queue);
    if (declared === undefined) {
      declared = this.#declareLadder(queue);
      this.#ladders.set(queue, declared);
      declared.catch(() => this.#ladders.delete(queue));
    }
    return declared;
  }

  async #declareLadder(queue: string): Promise<void> {
    const topology = this.topology(queue);
    const exchange = dueExchange(this.options.prefix);
    await this.#withDeclarer(async (declarer) => {
      for (const tier of topology.tiers) {
        await declarer.queue(tier.queue, {
          'x-queue-type': 'quorum',
          'x-message-ttl': tier.ms,
          'x-dead-letter-exchange': exchange,
          // At least once: an expired message stays in the tier until its band queue confirmed it.
          'x-dead-letter-strategy': 'at-least-once',
          'x-overflow': 'reject-publish',
        });
        this.#returned.delete(tier.queue);
      }
    });
    this.#noLadder.delete(queue);
  }

  /**
   * Messages waiting in `queue`'s delay tiers. Another process may have declared them: without
   * them here, the shortest tier is looked for (a passive declare), at most every 30 s.
   */
  async delayed(queue: string): Promise<number> {
    const topology = this.topology(queue);
    if (!this.#ladders.has(queue)) {
      if (Date.now() - (this.#noLadder.get(queue) ?? 0) < 30_000) return 0;
      const shortest = topology.tiers[0]?.queue;
      if (shortest === undefined || !(await this.#exists(shortest))) {
        this.#noLadder.set(queue, Date.now());
        return 0;
      }
      await this.declareLadder(queue);
    }
    const counts = await this.count(topology.tiers.map((t) => t.queue));
    return counts.reduce((sum, n) => sum + n, 0);
  }

  async #exists(queue: string): Promise<boolean> {
    this.assertReady('counting messages');
    const channel = await this.conn.acquire();
    try {
      await channel.queueDeclare({ queue, passive: true });
      return true;
    } catch (error) {
      if (replyCode(error) === 'NOT_FOUND') return false;
      throw translateRabbitError(error, 'counting messages');
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  async #declare(topology: Topology): Promise<Topology> {
    const exchange = dueExchange(this.options.prefix);
    await this.#withDeclarer(async (declarer) => {
      await declarer.exchange(exchange);
      for (const band of topology.bands) {
        await declarer.queue(band.queue, { 'x-queue-type': 'quorum' });
        await declarer.bind(band.queue, exchange, { 'x-match': 'all', [H.to]: band.queue });
      }
      await declarer.queue(topology.dead, {
        'x-queue-type': 'stream',
        'x-max-age': `${this.options.dead_letter_retention_seconds}s`,
        // Small segments, so the age limit frees space soon after dead letters pass their retention.
        'x-stream-max-segment-size-bytes': 8 * 1024 * 1024,
      });
    });
    for (const band of topology.bands) this.#returned.delete(band.queue);
    this.#returned.delete(topology.dead);
    return topology;
  }

  /** Ready messages of each of `queues` (quorum queues count only those not handed out). */
  async count(queues: readonly string[]): Promise<number[]> {
    this.assertReady('counting messages');
    const counts: number[] = [];
    await this.#withDeclarer(async (declarer) => {
      for (const queue of queues) counts.push(await declarer.count(queue));
    });
    return counts;
  }

  async #withDeclarer(work: (declarer: Declarer) => Promise<void>): Promise<void> {
    const declarer = new Declarer(this.conn, this.logger);
    try {
      await work(declarer);
    } catch (error) {
      throw translateRabbitError(error, 'declaring queues');
    } finally {
      await declarer.close();
    }
  }

  /**
   * Publishes to `routingKey` on the default exchange (a queue's name), persistent and mandatory,
   * and resolves once the broker confirmed it.
   */
  async publish(routingKey: string, body: Buffer, props: PublishProps, what = 'publishing a message'): Promise<void> {
    this.assertReady(what);
    try {
      const channel = await this.#publisherChannel();
      await channel.basicPublish({ routingKey, mandatory: true, durable: true, messageId: props.messageId, headers: props.headers }, body);
      // The broker returns an unroutable message before it confirms it, and the client emits the
      // return on the next turn of the event loop: by the turn after, it has been seen.
      await nextTurn();
    } catch (error) {
      throw translateRabbitError(error, what);
    }
    if (this.#returned.has(routingKey)) throw new UnroutableError(routingKey);
  }

  #publisherChannel(): Promise<Channel> {
    const current = this.#publisher;
    if (current !== undefined) {
      return current.then((channel) => {
        if (channel.active) return channel;
        if (this.#publisher === current) this.#publisher = undefined;
        return this.#publisherChannel();
      });
    }
    const opened = (async () => {
      const channel = await this.conn.acquire({ emitErrorsFromChannel: true });
      channel.on('error', (error: unknown) => this.logger.warn({ err: error }, 'rabbitmq: publisher channel error'));
      channel.on('basic.return', (returned: { routingKey?: string }) => {
        if (returned.routingKey !== undefined) this.#returned.add(returned.routingKey);
      });
      await channel.confirmSelect();
      return channel;
    })();
    this.#publisher = opened;
    opened.catch(() => {
      if (this.#publisher === opened) this.#publisher = undefined;
    });
    return opened;
  }

  /** A channel of its own (consumers, stream reads); the caller closes it. */
  async channel(what: string): Promise<Channel> {
    this.assertReady(what);
    try {
      const channel = await this.conn.acquire({ emitErrorsFromChannel: true });
      // Errors also close the channel, which its owner watches; logged here once.
      channel.on('error', (error: unknown) => this.logger.debug({ err: error }, `rabbitmq: channel error (${what})`));
      return channel;
    } catch (error) {
      throw translateRabbitError(error, what);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const publisher = await this.#publisher?.catch(() => undefined);
    await publisher?.close().catch(() => undefined);
    // Connection.close waits for every channel to close; a stuck one must not hold shutdown.
    const closing = this.conn.close().catch(() => undefined);
    const timer = setTimeout(() => this.conn.unsafeDestroy(), 5000);
    await closing;
    clearTimeout(timer);
  }
}

/** A publish the broker could not route: the queue it names does not exist. */
export class UnroutableError extends Error {
  constructor(readonly routingKey: string) {
    super(`the broker returned a message for "${routingKey}": no such queue`);
  }
}

/**
 * Declares on a channel of its own. A queue that exists with other arguments (an older
 * deployment's retention, say) is refused with PRECONDITION_FAILED, which closes the channel:
 * it is then used as it is (a passive declare on a new channel) and the difference logged.
 */
class Declarer {
  #channel: Channel | undefined;

  constructor(
    private readonly conn: Connection,
    private readonly logger: Logger,
  ) {}

  async #open(): Promise<Channel> {
    if (this.#channel?.active === true) return this.#channel;
    this.#channel = await this.conn.acquire();
    return this.#channel;
  }

  async exchange(name: string): Promise<void> {
    await (await this.#open()).exchangeDeclare({ exchange: name, type: 'headers', durable: true });
  }

  async bind(queue: string, exchange: string, args: Record<string, string>): Promise<void> {
    await (await this.#open()).queueBind({ queue, exchange, routingKey: '', arguments: args });
  }

  async queue(name: string, args: Record<string, string | number>): Promise<number> {
    try {
      return (await (await this.#open()).queueDeclare({ queue: name, durable: true, arguments: args })).messageCount;
    } catch (error) {
      if (replyCode(error) !== 'PRECONDITION_FAILED') throw error;
      this.logger.warn({ queue: name, err: error }, 'rabbitmq: the queue exists with other arguments; using it as it is');
      return this.count(name);
    }
  }

  async count(name: string): Promise<number> {
    return (await (await this.#open()).queueDeclare({ queue: name, passive: true })).messageCount;
  }

  async close(): Promise<void> {
    await this.#channel?.close().catch(() => undefined);
  }
}

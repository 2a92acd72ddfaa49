/**
 * The Redis store's change feed. Every applied transition is published (inside the transition
 * script, so only applied ones are) on one channel as `<origin>|<status>|<id>`, and every
 * applied progress report as `<origin>|PROCESSING@<progress>|<id>`.
 *
 * Within a process, the stores on one connection share one feed (as the SQLite stores on one
 * file do): a transition is reported to all their listeners at once, without a round trip, and
 * the process ignores its own messages when they come back from Redis. Other processes'
 * transitions arrive through one dedicated subscriber connection, opened when the first
 * listener subscribes (an API process on its first long-poll) and kept until the last store
 * closes. A worker process never subscribes, so it never pays for the feed.
 *
 * Subscribing takes a round trip, so `get` waits (briefly) for a subscription in progress: a
 * waiter that registers and then reads the record sees every change that lands after the read.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { isStatus } from '../../../core/request/lifecycle.js';
import type { Logger } from '../../../ports/logger.js';
import type { ChangeListener, RecordChange } from '../../../ports/result-store.js';
import { ChangeFeed } from '../../shared/change-feed.js';
import { closeClient, type RedisClient, type RedisHandle } from '../../shared/redis/client.js';

/** Longest a read waits for a subscription in progress (it normally takes one round trip). */
const SUBSCRIBE_WAIT_MS = 1000;

/** One process's view of one channel on one connection. */
class ProcessFeed {
  readonly origin = randomBytes(8).toString('hex');
  readonly sinks = new Set<ChangeFeed>();
  #connection: Promise<RedisClient> | undefined;
  /** Set while the subscription is being established. */
  #pending: Promise<void> | undefined;
  #closed = false;

  constructor(
    private readonly handle: RedisHandle,
    readonly channel: string,
    private readonly logger: Logger,
  ) {}

  emit(change: RecordChange): void {
    for (const sink of this.sinks) sink.emit(change);
  }

  ensureSubscribed(): void {
    if (this.#connection !== undefined || this.#closed) return;
    const connection = this.handle.dedicated('subscriber', this.logger);
    this.#connection = connection;
    const pending = connection
      .then(async (client) => {
        client.on('message', this.#onMessage);
        await client.subscribe(this.channel);
      })
      .catch((error: unknown) => {
        // Redis is away: the next listener tries again; waiters end by their own timeout.
        this.logger.warn({ err: error }, 'redis store: could not subscribe to the change feed; long-polls fall back to their timeout');
        if (this.#connection === connection) this.#connection = undefined;
        void connection.then(closeClient, () => undefined);
      })
      .finally(() => {
        if (this.#pending === pending) this.#pending = undefined;
      });
    this.#pending = pending;
  }

  async settled(): Promise<void> {
    const pending = this.#pending;
    if (pending === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([pending, new Promise<void>((resolve) => (timer = setTimeout(resolve, SUBSCRIBE_WAIT_MS)))]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection === undefined) return;
    const client = await connection.catch(() => undefined);
    if (client !== undefined) await closeClient(client);
  }

  readonly #onMessage = (_channel: string, message: string): void => {
    const first = message.indexOf('|');
    const second = message.indexOf('|', first + 1);
    if (first < 0 || second < 0 || message.slice(0, first) === this.origin) return;
    // `<status>` for a transition, `PROCESSING@<n>` for a progress report.
    const [status = '', progress] = message.slice(first + 1, second).split('@');
    if (!isStatus(status)) return;
    const id = message.slice(second + 1);
    this.emit(progress === undefined ? { id, status } : { id, status, progress: Number(progress) });
  };
}

const feeds = new WeakMap<RedisHandle, Map<string, ProcessFeed>>();

/** One store's listeners, attached to its process's feed. */
export class RedisChangeFeed {
  readonly #listeners: ChangeFeed;
  readonly #process: ProcessFeed;

  constructor(
    private readonly handle: RedisHandle,
    channel: string,
    logger: Logger,
  ) {
    this.#listeners = new ChangeFeed(logger);
    let byChannel = feeds.get(handle);
    if (byChannel === undefined) {
      byChannel = new Map();
      feeds.set(handle, byChannel);
    }
    let feed = byChannel.get(channel);
    if (feed === undefined) {
      feed = new ProcessFeed(handle, channel, logger);
      byChannel.set(channel, feed);
    }
    feed.sinks.add(this.#listeners);
    this.#process = feed;
  }

  get channel(): string {
    return this.#process.channel;
  }

  /** Tags this process's messages, so it does not report its own transitions twice. */
  get origin(): string {
    return this.#process.origin;
  }

  subscribe(listener: ChangeListener): () => void {
    const unsubscribe = this.#listeners.subscribe(listener);
    this.#process.ensureSubscribed();
    return unsubscribe;
  }

  /** A transition applied in this process: every store of the process hears it now. */
  emitLocal(change: RecordChange): void {
    this.#process.emit(change);
  }

  /** Resolves once a subscription in progress is active (or after a short bound). */
  settled(): Promise<void> {
    return this.#process.settled();
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    const feed = this.#process;
    feed.sinks.delete(this.#listeners);
    if (feed.sinks.size > 0) return;
    feeds.get(this.handle)?.delete(feed.channel);
    await feed.close();
  }
}

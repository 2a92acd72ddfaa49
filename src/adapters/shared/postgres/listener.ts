/**
 * LISTEN on a dedicated session connection (a pooled one would lose its LISTEN when returned),
 * reconnecting by itself with a growing pause when the connection drops. After every
 * (re)connection, once LISTEN is in place, `onListening` runs: the adapter reads what it may
 * have missed while nobody listened (a catch-up read), so no wake-up is lost across an outage.
 *
 * @module
 */
import pg from 'pg';
import type { Logger } from '../../../ports/logger.js';
import { clientConfig } from './database.js';
import type { PostgresConnectionOptions } from './options.js';

const FIRST_PAUSE_MS = 100;
const MOST_PAUSE_MS = 2_000;

export interface ListenerHandlers {
  /** A notification on the channel, with its payload. */
  onNotification(payload: string): void;
  /** LISTEN is in place (first time or after a reconnect); `since` is when listening was last known good (epoch ms). */
  onListening(since: number): void | Promise<void>;
}

export class PgListener {
  #client: pg.Client | undefined;
  #stopped = false;
  #pause = FIRST_PAUSE_MS;
  #timer: NodeJS.Timeout | undefined;
  /** When the connection was last known to be listening; a catch-up reads from here. */
  #goodSince: number;
  /** Settles when LISTEN is first in place (or the first attempt failed: then reads do not wait). */
  readonly ready: Promise<void>;
  #resolveReady: () => void = () => undefined;

  constructor(
    private readonly options: PostgresConnectionOptions,
    private readonly channel: string,
    private readonly handlers: ListenerHandlers,
    private readonly logger: Logger,
  ) {
    this.#goodSince = Date.now();
    this.ready = new Promise((resolve) => {
      this.#resolveReady = resolve;
    });
    void this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const client = new pg.Client(clientConfig(this.options));
    this.#client = client;
    let lost = false;
    const onLost = (error?: Error): void => {
      if (lost) return;
      lost = true;
      if (this.#client === client) this.#client = undefined;
      void client.end().catch(() => undefined);
      if (this.#stopped) return;
      this.logger.warn({ err: error }, 'postgres: the change feed connection was lost; reconnecting');
      this.#retry();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (message) => {
      if (message.channel === this.channel && message.payload !== undefined) this.handlers.onNotification(message.payload);
    });
    try {
      await client.connect();
      // A channel name is an identifier; quoted, any text of ours is one.
      await client.query(`LISTEN "${this.channel.replaceAll('"', '""')}"`);
    } catch (error) {
      this.#resolveReady();
      onLost(error as Error);
      return;
    }
    if (this.#stopped || lost) return;
    this.#pause = FIRST_PAUSE_MS;
    const since = this.#goodSince;
    this.#resolveReady();
    try {
      await this.handlers.onListening(since);
      // Only a catch-up that went through moves the mark: one that failed is read again next time.
      if (!lost) this.#goodSince = Date.now();
    } catch (error) {
      this.logger.warn({ err: error }, 'postgres: the catch-up read after (re)connecting failed; the next reconnect reads again');
    }
    // Kept current while connected, so a later loss catches up from about when it happened.
    const keep = setInterval(() => {
      if (lost || this.#stopped) clearInterval(keep);
      else this.#goodSince = Date.now();
    }, 1_000);
    keep.unref();
  }

  #retry(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    const pause = this.#pause;
    this.#pause = Math.min(MOST_PAUSE_MS, pause * 2);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#connect();
    }, pause);
    this.#timer.unref();
  }
}

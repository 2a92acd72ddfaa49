/**
 * One connection to NATS and its JetStream handles, shared by everything a NATS queue does:
 * whether it is connected right now (so a publish during an outage fails at once with a 503
 * instead of waiting for a timeout), the JetStream API calls with their errors translated, and
 * who to tell when the connection comes back.
 *
 * @module
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, JetStreamApiError, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { HqmError, isHqmError } from '../../../core/errors.js';
import type { HealthReport } from '../../../ports/health.js';
import type { Logger } from '../../../ports/logger.js';
import type { NatsQueueOptions } from './config.js';

/** API error codes the adapter acts on. */
export const API = { consumerNotFound: 10014, streamNotFound: 10059, streamNameInUse: 10058, noMessage: 10037 } as const;

export class NatsLink {
  #connected = true;
  #closing = false;
  readonly #onReconnect = new Set<() => void>();

  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly options: NatsQueueOptions,
    private readonly logger: Logger,
  ) {
    void this.#watch();
  }

  static async open(options: NatsQueueOptions, logger: Logger): Promise<NatsLink> {
    const { servers, user, pass } = splitCredentials(options.nats_url);
    const username = options.username !== '' ? options.username : user;
    const password = options.username !== '' ? options.password : pass;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers,
        name: 'openhqm',
        timeout: options.connect_timeout_ms,
        // Never give up: the worker and the API wait for the server to come back (503 meanwhile).
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        reconnectJitter: 250,
        // A server that stops answering without closing the socket is noticed within ~20 s.
        pingInterval: 10_000,
        maxPingOut: 2,
        // A user alone in the URL (`nats://TOKEN@host`) is a token, as other NATS clients read it.
        ...(username !== '' && password !== '' ? { user: username, pass: password } : {}),
        ...(options.token !== '' ? { token: options.token } : username !== '' && password === '' ? { token: username } : {}),
      });
    } catch (error) {
      throw unavailable(`connecting to NATS at ${servers.join(',')}`, error);
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout: options.request_timeout_ms });
      const js = jetstream(nc, { timeout: options.request_timeout_ms });
      return new NatsLink(nc, js, jsm, options, logger);
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw unavailable('opening JetStream (is the server started with -js?)', error);
    }
  }

  get connected(): boolean {
    return this.#connected && !this.nc.isClosed();
  }

  /** Runs `fn` when the connection comes back after an outage; returns the unregister. */
  onReconnect(fn: () => void): () => void {
    this.#onReconnect.add(fn);
    return () => this.#onReconnect.delete(fn);
  }

  /** Fails at once while disconnected: a caller waiting for a timeout would hold a client for nothing. */
  assertConnected(what: string): void {
    if (!this.connected) throw new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', `${what}: NATS is unavailable (disconnected; reconnecting)`);
  }

  /** Runs a JetStream call, translating the driver's errors (see translate). */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.assertConnected(what);
    try {
      return await fn();
    } catch (error) {
      throw translate(error, what);
    }
  }

  async health(): Promise<HealthReport> {
    if (this.nc.isClosed()) return { ok: false, detail: 'the NATS connection is closed' };
    if (!this.#connected) return { ok: false, detail: `disconnected from NATS (${splitCredentials(this.options.nats_url).servers.join(',')}); reconnecting` };
    try {
      // A round trip through JetStream, not only the socket: a cluster without a meta leader answers nothing.
      await this.jsm.getAccountInfo();
      return { ok: true };
    } catch (error) {
      return { ok: false, detail: `JetStream does not answer: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    // Draining flushes what was sent (acknowledgements); it cannot while the server is away.
    if (this.connected) {
      const drained = this.nc.drain().catch(() => undefined);
      const timer = new Promise<void>((resolve) => setTimeout(resolve, this.options.request_timeout_ms).unref());
      await Promise.race([drained, timer]);
    }
    if (!this.nc.isClosed()) await this.nc.close();
  }

  /** Ends the connection without draining or settling anything, as a crash would (tests). */
  async abort(): Promise<void> {
    this.#closing = true;
    await this.nc.close();
  }

  async #watch(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect') {
        this.#connected = false;
        if (!this.#closing) this.logger.warn({ server: status.server }, 'nats: disconnected; reconnecting');
      } else if (status.type === 'reconnect') {
        this.#connected = true;
        this.logger.info({ server: status.server }, 'nats: reconnected');
        for (const fn of [...this.#onReconnect]) fn();
      } else if (status.type === 'close') {
        this.#connected = false;
      }
    }
  }
}

/** The servers without their userinfo, and the first user and password found in them (the driver reads neither from a URL). */
export function splitCredentials(urls: string): { servers: string[]; user: string; pass: string } {
  let user = '';
  let pass = '';
  const servers = urls
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((server) => {
      try {
        const url = new URL(server);
        if (url.username === '') return server;
        if (user === '') {
          user = decodeURIComponent(url.username);
          pass = decodeURIComponent(url.password);
        }
        return `${url.protocol}//${url.host}`;
      } catch {
        return server;
      }
    });
  return { servers, user, pass };
}

export function unavailable(what: string, cause?: unknown): HqmError {
  const reason = cause instanceof Error ? ` (${firstLine(cause.message)})` : '';
  return new HqmError('HQM_ERR_BACKEND_UNAVAILABLE', `${what}: NATS is unavailable${reason}`, cause === undefined ? {} : { cause });
}

/** The JetStream API error code of `error`, if it is one. */
export function apiCode(error: unknown): number | undefined {
  return error instanceof JetStreamApiError ? error.code : undefined;
}

/**
 * A JetStream API error that says a request of ours was wrong (a bad configuration, a name in
 * use) stays what it is; everything else the driver throws — a timeout, no responders while a
 * stream elects a leader, a closed or reconnecting connection, JetStream unavailable — means
 * "NATS cannot answer right now" and becomes HQM_ERR_BACKEND_UNAVAILABLE (503 with Retry-After).
 */
export function translate(error: unknown, what: string): unknown {
  if (isHqmError(error) || !(error instanceof Error)) return error;
  const code = apiCode(error);
  // 10008: JetStream temporarily unavailable; 503 statuses are mapped to no-responders errors.
  if (code !== undefined && code !== 10008 && (error as JetStreamApiError).status < 500) return error;
  return unavailable(what, error);
}

function firstLine(message: string): string {
  const line = message.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

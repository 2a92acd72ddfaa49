/**
 * Delayed messages. NATS 2.9 cannot hold a message back until a time, so a delayed publish goes
 * to the queue's `delayed` subject, where this mover — one per queue in every process that
 * consumes it — parks each message with a `-NAK` delayed until it is due (the server redelivers
 * it then) and, when it is due, republishes it to its band with its id and enqueue time in
 * headers and acknowledges it. The republish carries a message id made of the stream and the
 * delayed copy's sequence, so a mover that dies between republish and acknowledgement is
 * de-duplicated by the stream when another mover repeats it. Parked messages are unacknowledged
 * deliveries of the delayed consumer, which is how `stats` counts them as delayed.
 *
 * @module
 */
import { headers } from '@nats-io/transport-node';
import type { Logger } from '../../../ports/logger.js';
import { HEADER } from './delivery.js';
import type { NatsLink } from './link.js';
import { bandOf, DELAYED_CONSUMER } from './names.js';
import { ackMsg, nakMsg, pull, type PullRequest, type Pulled } from './pull.js';
import type { QueueStreams } from './streams.js';

const WAIT_MS = 15_000;
const BATCH = 64;
const RETRY_MS = 1_000;

export class Mover {
  #users = 0;
  #running: Promise<void> | undefined;
  #current: PullRequest | undefined;
  #stopped = true;
  #backoff: { timer: NodeJS.Timeout; resolve: () => void } | undefined;

  constructor(
    private readonly link: NatsLink,
    private readonly streams: QueueStreams,
    private readonly logger: Logger,
  ) {
    // A pull waiting on a server that restarted is gone: ask again at once.
    link.onReconnect(() => this.#current?.cancel((pulled) => nakMsg(pulled.msg, 0)));
  }

  /** A subscription of the queue started: the mover runs while there is one. Returns its release. */
  use(): () => void {
    this.#users += 1;
    if (this.#running === undefined) {
      this.#stopped = false;
      this.#running = this.#loop().finally(() => {
        this.#running = undefined;
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#users -= 1;
      if (this.#users === 0) this.stop();
    };
  }

  stop(): void {
    this.#stopped = true;
    this.#current?.cancel((pulled) => nakMsg(pulled.msg, 0));
    if (this.#backoff !== undefined) {
      clearTimeout(this.#backoff.timer);
      this.#backoff.resolve();
    }
  }

  async #loop(): Promise<void> {
    const { link, streams } = this;
    while (!this.#stopped) {
      try {
        await streams.ready();
        if (this.#stopped) return;
        // Each message is handled as it arrives, one after another; the pull ends after a batch or the wait.
        let work = Promise.resolve();
        const request = pull(link.nc, { stream: streams.names.stream, consumer: DELAYED_CONSUMER }, BATCH, WAIT_MS, link.options.request_timeout_ms, (pulled) => {
          work = work.then(() => (this.#stopped ? nakMsg(pulled.msg, 0) : this.#handle(pulled))).catch((error: unknown) => {
            // Left unacknowledged: it comes back to a mover when the AckWait runs out.
            this.logger.debug({ err: error }, 'nats: moving a delayed message failed; it comes back');
          });
        });
        this.#current = request;
        const end = await request.done.finally(() => work);
        await work;
        this.#current = undefined;
        if (end === 'consumer-gone') streams.invalidate();
      } catch (error) {
        this.#current = undefined;
        if (this.#stopped) return;
        if (link.connected) streams.invalidate();
        this.logger.debug({ err: error }, 'nats: pulling delayed messages failed; trying again');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, RETRY_MS);
          timer.unref();
          this.#backoff = { timer, resolve };
        });
        this.#backoff = undefined;
      }
    }
  }

  async #handle(pulled: Pulled): Promise<void> {
    const { msg } = pulled;
    const due = Number(msg.headers?.get(HEADER.due));
    const wait = Number.isFinite(due) ? due - Date.now() : 0;
    if (wait > 0) {
      nakMsg(msg, wait);
      return;
    }
    const priority = Number(msg.headers?.get(HEADER.priority) || 0);
    const moved = headers();
    moved.set(HEADER.id, msg.headers?.get(HEADER.id) || String(pulled.streamSeq));
    moved.set(HEADER.at, msg.headers?.get(HEADER.at) || String(pulled.storedAt));
    for (const name of [HEADER.priority, HEADER.key]) {
      const value = msg.headers?.get(name);
      if (value !== undefined && value !== '') moved.set(name, value);
    }
    const { names } = this.streams;
    await this.link.call('moving a delayed message', () =>
      this.link.js.publish(names.subject[bandOf(priority)], msg.data, { headers: moved, msgID: `${names.stream}:${pulled.streamSeq}` }),
    );
    await ackMsg(this.link.nc, msg, this.link.options.request_timeout_ms);
  }
}

/**
 * Pull requests and acknowledgements at the level of JetStream's wire protocol. The driver's
 * `fetch` waits at least a second for a batch it cannot fill and has no `no_wait`, which a
 * strict sweep of the priority bands needs (ask the high band, then the next, each answered at
 * once); and its message class, which would parse the acknowledgement subject, is not exported.
 * Both are small and documented parts of the protocol (ADR D232):
 *
 * - a pull is a publish to `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>` with
 *   `{batch, no_wait | expires}` and a reply inbox; messages arrive on the inbox, and a status
 *   message (no body, a `NATS/1.0 <code>` header) ends the request: 404 nothing there, 408 the
 *   batch or the wait ended, 409 the consumer went away or too many pulls wait, 100 heartbeat;
 * - each message's reply subject is its acknowledgement subject
 *   `$JS.ACK.[<domain>.<account>.]<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ns>.<pending>[.<token>]`,
 *   to which `+ACK`, `-NAK {"delay": ns}`, `+WPI` (in progress) are sent.
 *
 * @module
 */
import { createInbox, type Msg, type NatsConnection, type Subscription as NatsSub } from '@nats-io/transport-node';
import { unavailable } from './link.js';

export interface Pulled {
  readonly msg: Msg;
  readonly streamSeq: number;
  /** How many times the server has delivered this message to the consumer (1 the first time). */
  readonly delivered: number;
  /** When the message was stored (epoch ms). */
  readonly storedAt: number;
}

/** How a pull ended. */
export type PullEnd = 'drained' | 'timeout' | 'consumer-gone' | 'crowded';

export function parseAckSubject(reply: string | undefined): Omit<Pulled, 'msg'> | undefined {
  if (reply === undefined || !reply.startsWith('$JS.ACK.')) return undefined;
  const tokens = reply.split('.');
  // The old 9-token form lacks domain and account hash; the newer 11- and 12-token forms have them.
  const at = tokens.length === 9 ? 4 : tokens.length >= 11 ? 6 : -1;
  if (at < 0) return undefined;
  const delivered = Number(tokens[at]);
  const streamSeq = Number(tokens[at + 1]);
  const nanos = tokens[at + 3] ?? '0';
  if (!Number.isSafeInteger(delivered) || !Number.isSafeInteger(streamSeq)) return undefined;
  return { delivered, streamSeq, storedAt: Number(BigInt(nanos) / 1_000_000n) };
}

/** A status message ends or annotates a pull: no body and a status code in the header line. */
function statusOf(msg: Msg): { code: number; description: string } | undefined {
  if (msg.data.length > 0 || msg.headers === undefined) return undefined;
  const code = msg.headers.code;
  return code > 0 ? { code, description: msg.headers.description } : undefined;
}

export interface PullRequest {
  readonly done: Promise<PullEnd>;
  /** Stops listening; the server skips a waiting pull whose inbox nobody listens on. Messages already sent go to `onLate`. */
  cancel(onLate?: (pulled: Pulled) => void): void;
}

/**
 * Asks `consumer` for up to `batch` messages: at once (`expiresMs` undefined: no_wait) or
 * waiting up to `expiresMs`. Each message goes to `onMessage` as it arrives.
 */
export function pull(
  nc: NatsConnection,
  target: { stream: string; consumer: string },
  batch: number,
  expiresMs: number | undefined,
  requestTimeoutMs: number,
  onMessage: (pulled: Pulled) => void,
): PullRequest {
  let received = 0;
  let settle: (end: PullEnd) => void = () => undefined;
  let fail: (error: unknown) => void = () => undefined;
  let late: ((pulled: Pulled) => void) | undefined;
  let finished = false;
  const done = new Promise<PullEnd>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const sub: NatsSub = nc.subscribe(createInbox(), {
    callback: (error, msg) => {
      if (error !== null) return end(() => fail(unavailable('pulling messages', error)));
      const status = statusOf(msg);
      if (status !== undefined) {
        if (status.code === 100) return; // Idle heartbeat.
        if (status.code === 404 || status.code === 408) return end(() => settle(received > 0 || status.code === 404 ? 'drained' : 'timeout'));
        if (status.code === 409) return end(() => settle(/consumer deleted|consumer not found/i.test(status.description) ? 'consumer-gone' : 'crowded'));
        return end(() => fail(unavailable(`pulling messages (${status.code} ${status.description})`)));
      }
      const info = parseAckSubject(msg.reply);
      if (info === undefined) return; // Not a JetStream message: nothing we can settle.
      received += 1;
      const pulled = { msg, ...info };
      if (finished) late?.(pulled);
      else onMessage(pulled);
      if (received >= batch) end(() => settle('drained'));
    },
  });
  // No answer at all (the stream's leader gone, JetStream down): fail after the request timeout.
  const timer = setTimeout(() => end(() => (received > 0 ? settle('drained') : fail(unavailable('pulling messages (no answer)')))), (expiresMs ?? 0) + requestTimeoutMs);
  timer.unref();
  function end(then: () => void): void {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    then();
    // Drained: what the server sent before it saw the unsubscribe still reaches the callback (to `late`).
    if (late === undefined) sub.unsubscribe();
    else void sub.drain().catch(() => undefined);
  }
  const request = { batch, ...(expiresMs === undefined ? { no_wait: true } : { expires: expiresMs * 1_000_000 }) };
  try {
    nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${target.stream}.${target.consumer}`, JSON.stringify(request), { reply: sub.getSubject() });
  } catch (error) {
    end(() => fail(unavailable('pulling messages', error)));
  }
  return {
    done,
    cancel: (onLate) => {
      late = onLate;
      end(() => settle('drained'));
    },
  };
}

/** `+ACK`, answered by the server, so the caller knows it arrived. */
export async function ackMsg(nc: NatsConnection, msg: Msg, timeoutMs: number): Promise<void> {
  try {
    await nc.request(msg.reply ?? '', '+ACK', { timeout: timeoutMs });
  } catch (error) {
    throw unavailable('acknowledging a message', error);
  }
}

/** `-NAK`: deliver again after `delayMs` (at once when 0). */
export function nakMsg(msg: Msg, delayMs: number): void {
  msg.respond(delayMs > 0 ? `-NAK ${JSON.stringify({ delay: Math.ceil(delayMs) * 1_000_000 })}` : '-NAK');
}

/** `+WPI`: still working, restart the AckWait. */
export function touchMsg(msg: Msg): void {
  msg.respond('+WPI');
}
